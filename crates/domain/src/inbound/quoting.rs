//! Quoted text in replies: mail clients put the message being answered
//! under the new text, after a line that introduces it ("On ... wrote:",
//! Outlook's header block, a run of `>` lines), or, as Thunderbird does by
//! default, the quote first ("On ... wrote:" and its `>` lines) and the
//! new text below it. A reply on a ticket keeps only what is new; the
//! whole message stays as the original.

/// `text` up to where the quoted earlier message starts, when that can be
/// recognised; the text below a quote that opens the mail, when nothing
/// quoted follows it; all of `text` otherwise (interleaved answers), and
/// when nothing would be left.
pub fn trim_quoted(text: &str) -> &str {
    let lines: Vec<(usize, &str)> = line_starts(text);
    let quote_starts_at = lines
        .iter()
        .enumerate()
        .find(|(index, (_, line))| starts_quote(&lines, *index, line))
        .map(|(_, (offset, _))| *offset)
        .or_else(|| trailing_quote(&lines));
    match quote_starts_at {
        Some(offset) if !text[..offset].trim().is_empty() => text[..offset].trim_end(),
        Some(_) => below_opening_quote(text, &lines).unwrap_or(text),
        None => text,
    }
}

/// The new text of a reply written below the quote: the mail opens with
/// an attribution ("On ... wrote:", on one line or wrapped over two) and
/// its `>` lines, and the rest, which quotes nothing more, is the reply.
fn below_opening_quote<'a>(text: &'a str, lines: &[(usize, &str)]) -> Option<&'a str> {
    let blank = |line: &str| line.trim().is_empty();
    let quoted = |line: &str| line.trim_start().starts_with('>');
    let first = lines.iter().position(|(_, line)| !blank(line))?;
    let opening = lines[first].1.trim();
    let quote_from = if is_attribution(opening) {
        first + 1
    } else {
        let (_, next) = lines.get(first + 1)?;
        let joined = format!("{opening} {}", next.trim());
        (starts_attribution(opening) && is_attribution(&joined)).then_some(first + 2)?
    };
    let reply_from = quote_from
        + lines[quote_from..]
            .iter()
            .position(|(_, line)| !blank(line) && !quoted(line))?;
    let quotes_something = lines[quote_from..reply_from]
        .iter()
        .any(|(_, line)| quoted(line));
    let quotes_again = lines[reply_from..].iter().any(|(_, line)| quoted(line));
    (quotes_something && !quotes_again).then(|| text[lines[reply_from].0..].trim_end())
}

/// Each line of `text` with the byte offset it starts at (line ends of
/// either kind dropped).
fn line_starts(text: &str) -> Vec<(usize, &str)> {
    let mut offset = 0;
    text.split_inclusive('\n')
        .map(|line| {
            let start = offset;
            offset += line.len();
            (start, line.trim_end_matches(['\n', '\r']))
        })
        .collect()
}

/// Whether the line at `index` introduces a quoted message.
fn starts_quote(lines: &[(usize, &str)], index: usize, line: &str) -> bool {
    let trimmed = line.trim();
    if is_attribution(trimmed) {
        return true;
    }
    // The attribution wrapped over two lines (Gmail wraps long names).
    if let Some((_, next)) = lines.get(index + 1) {
        let joined = format!("{trimmed} {}", next.trim());
        if starts_attribution(trimmed) && is_attribution(&joined) {
            return true;
        }
    }
    if is_separator(trimmed) {
        return true;
    }
    // Outlook: a "From:" line with "Sent:"/"Date:" and "Subject:" below it.
    if header_named(trimmed, &["From", "De", "Von"]) {
        let below: Vec<&str> = lines
            .iter()
            .skip(index + 1)
            .take(5)
            .map(|(_, line)| line.trim())
            .collect();
        let dated = below
            .iter()
            .any(|line| header_named(line, &["Sent", "Date", "Envoyé", "Gesendet"]));
        let subject = below
            .iter()
            .any(|line| header_named(line, &["Subject", "Objet", "Betreff"]));
        return dated && subject;
    }
    false
}

/// "On <date>, <name> wrote:" and its French, German and Spanish forms.
fn is_attribution(line: &str) -> bool {
    let ends = |words: &[&str]| {
        words
            .iter()
            .any(|word| line.trim_end_matches([':', ' ']).ends_with(word))
    };
    line.ends_with(':')
        && ((line.starts_with("On ") && ends(&["wrote"]))
            || (line.starts_with("Le ") && ends(&["a écrit"]))
            || (line.starts_with("Am ") && ends(&["schrieb"]))
            || (line.starts_with("El ") && ends(&["escribió"])))
}

fn starts_attribution(line: &str) -> bool {
    ["On ", "Le ", "Am ", "El "]
        .iter()
        .any(|start| line.starts_with(start))
}

/// "-----Original Message-----", and the rule Outlook draws above its
/// header block.
fn is_separator(line: &str) -> bool {
    let lowered = line.to_lowercase();
    (lowered.starts_with("-----") && lowered.contains("original message"))
        || (line.len() >= 20 && line.chars().all(|c| c == '_'))
}

fn header_named(line: &str, names: &[&str]) -> bool {
    let line = line.trim_start_matches('*');
    names.iter().any(|name| {
        line.strip_prefix(name)
            .is_some_and(|rest| rest.trim_start_matches('*').starts_with(':'))
    })
}

/// A run of `>` lines (blank lines between them allowed) that ends the
/// message: where it starts.
fn trailing_quote(lines: &[(usize, &str)]) -> Option<usize> {
    let mut start = None;
    for (offset, line) in lines.iter().rev() {
        let trimmed = line.trim();
        if trimmed.starts_with('>') {
            start = Some(*offset);
        } else if !trimmed.is_empty() {
            break;
        }
    }
    start
}
