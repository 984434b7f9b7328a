//! Reading JSON request bodies by hand: serde would take a JSON array for a struct, and its
//! type errors name no field. A 422 here always names the field at fault.

use std::borrow::Cow;

use serde_json::Value;

use crate::error::{AppError, ROOT_FIELD};

/// Longest unknown key a 422 echoes as its `field`; the rest is cut off.
const ECHOED_KEY_CHARS: usize = 64;

pub(crate) fn invalid(field: impl Into<Cow<'static, str>>, message: String) -> AppError {
    AppError::Validation {
        field: field.into(),
        message,
    }
}

/// "an array", "a number", ...: what a client sent where something else was expected.
fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// The string fields `names` of a JSON object, in that order. The 422 names the first field
/// at fault: a missing or non-string field, then an unknown key (`unknown` says what the
/// object may hold), or `$` when the body is not an object at all.
pub(crate) fn string_fields<const N: usize>(
    json: Value,
    names: [&'static str; N],
    unknown: &str,
) -> Result<[String; N], AppError> {
    let Value::Object(mut object) = json else {
        return Err(invalid(
            ROOT_FIELD,
            format!(
                "the request body must be a JSON object, not {}",
                json_kind(&json)
            ),
        ));
    };
    let mut values = Vec::with_capacity(N);
    for name in names {
        match object.remove(name) {
            Some(Value::String(text)) => values.push(text),
            Some(other) => {
                return Err(invalid(
                    name,
                    format!("{name} must be a string, not {}", json_kind(&other)),
                ))
            }
            None => return Err(invalid(name, format!("{name} is missing"))),
        }
    }
    if let Some(key) = object.keys().next() {
        let echoed: String = key.chars().take(ECHOED_KEY_CHARS).collect();
        return Err(invalid(echoed, format!("unknown field: {unknown}")));
    }
    Ok(values.try_into().expect("one value per name"))
}
