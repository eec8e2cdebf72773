//! `GET /tickets/resolved-report`: the last month's resolved tickets as CSV,
//! streamed from the database to the client through a bounded channel.

use std::borrow::Cow;

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use domain::Ticket;
use tokio::sync::mpsc;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::Caller;
use crate::error::{ApiError, with_causes};
use crate::state::AppState;
use crate::wire::{ErrorEnvelope, timestamp};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(get_resolved_report))
}

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

/// The tickets resolved in the last calendar month, as CSV (agents and
/// admins): `ticketId,subject,body,status,resolvedAt,createdAt`, streamed.
#[utoipa::path(
    get,
    path = "/tickets/resolved-report",
    tag = "reports",
    responses(
        (status = 200, description = "The report, one row per ticket", content_type = "text/csv", body = String),
        (status = 403, description = "Only support agents and admins read the report", body = ErrorEnvelope),
    ),
    security(("bearer" = []))
)]
async fn get_resolved_report(
    State(state): State<AppState>,
    Caller(caller): Caller,
) -> Result<Response, ApiError> {
    // Everything that can fail before the first byte fails here (the rule,
    // the connection): once the 200 is sent, an error can only cut the
    // body short.
    let report = state
        .blocking(move |store| store.open_resolved_report(caller))
        .await?;
    let (_, generated_at) = report.window();

    let (sender, mut receiver) = mpsc::channel::<Chunk>(CHUNKS_IN_FLIGHT);
    tokio::task::spawn_blocking(move || {
        let mut csv = CsvChunks::new(sender);
        let outcome = report.for_each_row(|ticket| csv.write(&ticket));
        match outcome {
            Ok(_) => csv.finish(),
            Err(error) => {
                tracing::error!(
                    cause = with_causes(&error),
                    "report stream failed; the body is cut short"
                );
                csv.abort();
            }
        }
    });
    let body = Body::from_stream(futures_util::stream::poll_fn(move |cx| {
        receiver.poll_recv(cx)
    }));
    let filename = format!(
        "attachment; filename=\"resolved-report-{}.csv\"",
        generated_at.format("%Y-%m-%d")
    );
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (header::CONTENT_DISPOSITION, filename),
        ],
        body,
    )
        .into_response())
}

/// A piece of the body, or the error that cuts it short.
type Chunk = Result<Bytes, std::io::Error>;

/// Writes CSV rows and hands them to the channel in chunks.
struct CsvChunks {
    writer: csv::Writer<ChannelSink>,
}

impl CsvChunks {
    fn new(sender: mpsc::Sender<Chunk>) -> Self {
        let sink = ChannelSink {
            buffer: Vec::with_capacity(CHUNK_BYTES),
            sender,
        };
        let mut writer = csv::WriterBuilder::new()
            .terminator(csv::Terminator::CRLF)
            .from_writer(sink);
        // Nothing is sent yet, so this cannot fail.
        let _ = writer.write_record(HEADER);
        Self { writer }
    }

    /// Adds one row; `false` once the client has gone, to stop the query.
    fn write(&mut self, ticket: &Ticket) -> bool {
        let row = [
            Cow::Owned(ticket.id.to_string()),
            neutralise(ticket.subject.as_deref().unwrap_or("")),
            neutralise(&ticket.body),
            Cow::Borrowed(ticket.status.as_str()),
            Cow::Owned(ticket.resolved_at.map(timestamp).unwrap_or_default()),
            Cow::Owned(timestamp(ticket.created_at)),
        ];
        self.writer
            .write_record(row.iter().map(|cell| cell.as_bytes()))
            .is_ok()
    }

    /// Ends the body with an error, so the client sees a broken transfer
    /// rather than a complete-looking but short file.
    fn abort(self) {
        let broken = std::io::Error::other("the report could not be completed");
        let _ = self.writer.get_ref().sender.blocking_send(Err(broken));
    }

    /// Sends what is left.
    fn finish(self) {
        if let Ok(sink) = self.writer.into_inner() {
            sink.send_rest();
        }
    }
}

/// An `io::Write` that gathers bytes and sends each full chunk down the
/// channel, waiting while the client is slow; a closed channel (the client
/// went away) is an error that stops the writer.
struct ChannelSink {
    buffer: Vec<u8>,
    sender: mpsc::Sender<Chunk>,
}

impl ChannelSink {
    fn send(&self, chunk: Vec<u8>) -> std::io::Result<()> {
        self.sender
            .blocking_send(Ok(Bytes::from(chunk)))
            .map_err(|_| std::io::Error::new(std::io::ErrorKind::BrokenPipe, "client went away"))
    }

    fn send_rest(mut self) {
        if !self.buffer.is_empty() {
            // A client that left just before the end needs nothing more.
            let rest = std::mem::take(&mut self.buffer);
            let _ = self.send(rest);
        }
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

/// A cell a spreadsheet would run as a formula gets a leading `'`.
pub fn neutralise(cell: &str) -> Cow<'_, str> {
    if cell.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        Cow::Owned(format!("'{cell}"))
    } else {
        Cow::Borrowed(cell)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formula_cells_are_neutralised_and_others_left_alone() {
        for risky in ["=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx"] {
            assert_eq!(neutralise(risky), format!("'{risky}"));
        }
        for safe in ["plain", "", "a=b", " =x"] {
            assert_eq!(neutralise(safe), safe);
        }
    }
}
