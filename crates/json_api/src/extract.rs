//! Request extractors whose rejections answer our JSON envelope.

use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, FromRequestParts, Request};
use edge::problem::Problem;
use serde::de::DeserializeOwned;
use serde_json::Value;

/// The answer to a body that is JSON but not an object.
pub const NOT_AN_OBJECT: &str = "the body must be a JSON object";

/// A JSON body, which must be an object, read into `T`: a body that is an
/// array, a string, a number, `true`, `false` or `null` is a 400 (serde
/// alone would read an array as a struct's fields in order), and every
/// refusal is said in our words, naming the field, never a Rust type.
/// No `Content-Type: application/json` is a 415, a body over the limit
/// a 413.
#[derive(Debug)]
pub struct JsonBody<T>(pub T);

impl<S, T> FromRequest<S> for JsonBody<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = Problem;

    async fn from_request(request: Request, state: &S) -> Result<Self, Problem> {
        let value = match axum::Json::<Value>::from_request(request, state).await {
            Ok(axum::Json(value)) => value,
            Err(JsonRejection::JsonSyntaxError(error)) => {
                return Err(Problem::Invalid(format!(
                    "the body is not valid JSON: {}",
                    serde_json_cause(&error.body_text())
                )));
            }
            Err(JsonRejection::MissingJsonContentType(_)) => {
                return Err(Problem::UnsupportedMediaType(
                    "the body must be JSON, sent with `Content-Type: application/json`".to_owned(),
                ));
            }
            Err(other) => return Err(other.into()),
        };
        if !value.is_object() {
            return Err(Problem::Invalid(NOT_AN_OBJECT.to_owned()));
        }
        read_fields(&value).map(JsonBody)
    }
}

/// The JSON parser's own words (what and where), without axum's preamble.
fn serde_json_cause(text: &str) -> &str {
    text.split_once("as JSON: ")
        .map_or(text, |(_, cause)| cause)
}

/// `T` read from the object `body`; a field of the wrong type is a 400
/// naming the field, what it must be and what was sent.
fn read_fields<T: DeserializeOwned>(body: &Value) -> Result<T, Problem> {
    serde_path_to_error::deserialize(body).map_err(|error| {
        let path = error.path().to_string();
        let sent = describe(at_path(body, error.path()));
        let message = match expected(&error.inner().to_string()) {
            Some(expected) => format!("{path} must be {expected}, not {sent}"),
            None => format!("{path} is not valid here ({sent} was sent)"),
        };
        Problem::Invalid(message)
    })
}

/// The value at `path` in `body`, if the path leads to one.
fn at_path<'a>(body: &'a Value, path: &serde_path_to_error::Path) -> Option<&'a Value> {
    use serde_path_to_error::Segment;
    path.iter().try_fold(body, |value, segment| match segment {
        Segment::Map { key } => value.get(key),
        Segment::Seq { index } => value.get(index),
        Segment::Enum { .. } | Segment::Unknown => None,
    })
}

/// A JSON value's kind, as a client would say it.
fn describe(value: Option<&Value>) -> &'static str {
    match value {
        Some(Value::Null) => "null",
        Some(Value::Bool(_)) => "true or false",
        Some(Value::Number(_)) => "a number",
        Some(Value::String(_)) => "a string",
        Some(Value::Array(_)) => "an array",
        Some(Value::Object(_)) => "an object",
        None => "something else",
    }
}

/// What the field must be, in JSON's words, from what serde expected;
/// `None` for anything our request types do not hold.
fn expected(serde_message: &str) -> Option<&'static str> {
    let (_, expected) = serde_message.rsplit_once("expected ")?;
    match expected {
        "a string" => Some("a string"),
        "a boolean" => Some("true or false"),
        "a sequence" => Some("an array"),
        _ => None,
    }
}

/// `axum::extract::Query`, rejecting with a [`Problem`]; unknown
/// parameters are ignored.
#[derive(Debug, FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(Problem))]
pub struct QueryParams<T>(pub T);

/// `axum::extract::Path`, rejecting with a [`Problem`].
#[derive(Debug, FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(Problem))]
pub struct PathParam<T>(pub T);

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[allow(dead_code, reason = "read by serde only")]
    struct Sample {
        name: Option<String>,
        flag: Option<bool>,
        tags: Option<Vec<String>>,
    }

    fn refusal(body: Value) -> String {
        match read_fields::<Sample>(&body) {
            Err(Problem::Invalid(message)) => message,
            other => panic!("{body} was not refused: {other:?}"),
        }
    }

    #[test]
    fn a_field_of_the_wrong_type_is_named_with_what_it_must_be() {
        assert_eq!(
            refusal(serde_json::json!({"name": 5})),
            "name must be a string, not a number"
        );
        assert_eq!(
            refusal(serde_json::json!({"flag": "yes"})),
            "flag must be true or false, not a string"
        );
        assert_eq!(
            refusal(serde_json::json!({"tags": "vip"})),
            "tags must be an array, not a string"
        );
        assert_eq!(
            refusal(serde_json::json!({"tags": ["ok", {"a": 1}]})),
            "tags[1] must be a string, not an object"
        );
    }

    #[test]
    fn the_parsers_cause_is_kept_without_axums_preamble() {
        assert_eq!(
            serde_json_cause(
                "Failed to parse the request body as JSON: expected value at line 1 column 1"
            ),
            "expected value at line 1 column 1"
        );
    }
}
