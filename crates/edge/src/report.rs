//! The resolved report as a CSV download, for every door that offers it:
//! streamed from the database to the client through a bounded channel, so
//! its memory does not grow with its rows, and cut off (as a broken
//! transfer, never a complete-looking short file) when the client stalls
//! or goes away.

use std::borrow::Cow;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::Poll;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use domain::Ticket;
use domain::report::neutralise_formula;
use store::{ResolvedReport, with_causes};
use tokio::runtime::Handle;
use tokio::sync::mpsc;
use tokio::sync::mpsc::error::SendTimeoutError;

use crate::timestamp;

/// The report's columns.
pub const HEADER: [&str; 6] = [
    "ticketId",
    "subject",
    "body",
    "status",
    "resolvedAt",
    "createdAt",
];
/// Bytes gathered before a chunk goes to the client.
const CHUNK_BYTES: usize = 64 * 1024;
/// Chunks in flight: the memory a slow client can make us hold.
const CHUNKS_IN_FLIGHT: usize = 4;

/// Streams an opened report as a CSV download; `stall_timeout` is the
/// longest the client may stop reading before the stream is cut.
pub fn download(report: ResolvedReport, stall_timeout: Duration) -> Response {
    let (_, generated_at) = report.window();

    let (sender, mut receiver) = mpsc::channel::<Chunk>(CHUNKS_IN_FLIGHT);
    let runtime = tokio::runtime::Handle::current();
    let complete = Arc::new(AtomicBool::new(false));
    let completed = Arc::clone(&complete);
    tokio::task::spawn_blocking(move || {
        let mut csv = CsvChunks::new(sender, runtime, stall_timeout);
        match report.for_each_row(|ticket| csv.write(&ticket)) {
            Ok(_) if csv.intact => csv.finish(&completed),
            // The client went away or stopped reading: nothing more to say.
            Ok(_) => {}
            Err(error) => tracing::error!(
                cause = with_causes(&error),
                "report stream failed; the body is cut short"
            ),
        }
    });
    // A body that ends before the writer finished ends with an error, so
    // the client sees a broken transfer, not a complete-looking short file.
    let mut ended = false;
    let body = Body::from_stream(futures_util::stream::poll_fn(move |cx| {
        match receiver.poll_recv(cx) {
            Poll::Ready(None) if !ended && !complete.load(Ordering::Acquire) => {
                ended = true;
                let broken = std::io::Error::other("the report could not be completed");
                Poll::Ready(Some(Err(broken)))
            }
            other => other,
        }
    }));
    let filename = format!(
        "attachment; filename=\"resolved-report-{}.csv\"",
        generated_at.format("%Y-%m-%d")
    );
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (header::CONTENT_DISPOSITION, filename),
        ],
        body,
    )
        .into_response()
}

/// A piece of the body, or the error that cuts it short.
type Chunk = Result<Bytes, std::io::Error>;

/// Writes CSV rows and hands them to the channel in chunks.
struct CsvChunks {
    writer: csv::Writer<ChannelSink>,
    /// Every row so far reached the channel.
    intact: bool,
}

impl CsvChunks {
    fn new(sender: mpsc::Sender<Chunk>, runtime: Handle, stall_timeout: Duration) -> Self {
        let sink = ChannelSink {
            buffer: Vec::with_capacity(CHUNK_BYTES),
            sender,
            runtime,
            stall_timeout,
        };
        let mut writer = csv::WriterBuilder::new()
            .terminator(csv::Terminator::CRLF)
            .from_writer(sink);
        // Nothing is sent yet, so this cannot fail.
        let _ = writer.write_record(HEADER);
        Self {
            writer,
            intact: true,
        }
    }

    /// Adds one row; `false` once the client has gone, to stop the query.
    fn write(&mut self, ticket: &Ticket) -> bool {
        let row = [
            Cow::Owned(ticket.id.to_string()),
            neutralise_formula(ticket.subject.as_deref().unwrap_or("")),
            neutralise_formula(&ticket.body),
            Cow::Borrowed(ticket.status.as_str()),
            Cow::Owned(ticket.resolved_at.map(timestamp).unwrap_or_default()),
            Cow::Owned(timestamp(ticket.created_at)),
        ];
        self.intact = self
            .writer
            .write_record(row.iter().map(|cell| cell.as_bytes()))
            .is_ok();
        self.intact
    }

    /// Sends what is left and, if the client took all of it, says the
    /// body is complete (before the channel closes, which ends the body).
    fn finish(self, complete: &AtomicBool) {
        if let Ok(mut sink) = self.writer.into_inner()
            && sink.send_rest().is_ok()
        {
            complete.store(true, Ordering::Release);
        }
    }
}

/// An `io::Write` that gathers bytes and sends each full chunk down the
/// channel, waiting while the client is slow, but not for ever: a client
/// that takes no chunk for `stall_timeout` is cut off, like one that went
/// away (a closed channel), and either is an error that stops the writer
/// and gives the report's connection back.
struct ChannelSink {
    buffer: Vec<u8>,
    sender: mpsc::Sender<Chunk>,
    runtime: Handle,
    stall_timeout: Duration,
}

impl ChannelSink {
    fn send(&self, chunk: Vec<u8>) -> std::io::Result<()> {
        let sent = self.runtime.block_on(
            self.sender
                .send_timeout(Ok(Bytes::from(chunk)), self.stall_timeout),
        );
        sent.map_err(|error| match error {
            SendTimeoutError::Timeout(_) => {
                tracing::warn!("report client stopped reading; the download is cut off");
                std::io::Error::new(std::io::ErrorKind::TimedOut, "client stopped reading")
            }
            SendTimeoutError::Closed(_) => {
                std::io::Error::new(std::io::ErrorKind::BrokenPipe, "client went away")
            }
        })
    }

    fn send_rest(&mut self) -> std::io::Result<()> {
        if self.buffer.is_empty() {
            return Ok(());
        }
        let rest = std::mem::take(&mut self.buffer);
        self.send(rest)
    }
}

impl std::io::Write for ChannelSink {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.buffer.extend_from_slice(bytes);
        if self.buffer.len() >= CHUNK_BYTES {
            let chunk = std::mem::replace(&mut self.buffer, Vec::with_capacity(CHUNK_BYTES));
            self.send(chunk)?;
        }
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
