//! JSON request bodies: structs deriving `Deserialize`, read from the JSON value actix has
//! already parsed (so malformed JSON is a 400 before any field is looked at). A 422 names the
//! field at fault, with its path from `serde_path_to_error`.
//!
//! The value is read through [`Json`], not serde_json's own deserializer, to keep two promises
//! of the API: errors keep serde's kinds (serde_json turns them into text), so messages say
//! `title must be a string, not a number`; and a struct's declared fields come first, in
//! order, absent ones included, then unknown keys: the first declared field missing or
//! mistyped is the one named, else the first unknown key. serde_json would also take a JSON
//! array for a struct.

use std::borrow::Cow;
use std::fmt;

use serde::de::{
    self, DeserializeOwned, DeserializeSeed, Expected, IntoDeserializer, MapAccess, Unexpected,
    Visitor,
};
use serde::forward_to_deserialize_any;
use serde_json::{Map, Value};
use serde_path_to_error::Segment;

use crate::error::{AppError, ROOT_FIELD};

/// Longest unknown key a 422 echoes as its `field`; the rest is cut off.
const ECHOED_KEY_CHARS: usize = 64;

/// A request body: a struct deriving `Deserialize` with `deny_unknown_fields`.
pub(crate) trait RequestBody: DeserializeOwned {
    /// What the 422 for an unknown key says the body may hold.
    const ONLY: &'static str;
}

pub(crate) fn invalid(field: impl Into<Cow<'static, str>>, message: String) -> AppError {
    AppError::Validation {
        field: field.into(),
        message,
    }
}

/// Reads `json` as `T`, or the 422 that names the first field at fault (`$` when the body is
/// not an object at all).
pub(crate) fn body<T: RequestBody>(json: Value) -> Result<T, AppError> {
    serde_path_to_error::deserialize(Json(json)).map_err(|err| {
        let field = match err.path().iter().next_back() {
            None => None,
            Some(Segment::Map { key }) => Some(key.clone()),
            Some(_) => Some(err.path().to_string()),
        };
        match (field, err.into_inner()) {
            (None, BodyError::InvalidType { found, .. }) => invalid(
                ROOT_FIELD,
                format!("the request body must be a JSON object, not {found}"),
            ),
            (Some(field), BodyError::Missing) => {
                let message = format!("{field} is missing");
                invalid(field, message)
            }
            (Some(field), BodyError::InvalidType { found, expected }) => {
                let message = format!("{field} must be {expected}, not {found}");
                invalid(field, message)
            }
            (Some(key), BodyError::Unknown) => invalid(
                key.chars().take(ECHOED_KEY_CHARS).collect::<String>(),
                format!("unknown field: {}", T::ONLY),
            ),
            // Not produced by bodies of strings; kept readable should a field type produce it.
            (field, other) => invalid(
                field.map_or(Cow::Borrowed(ROOT_FIELD), Cow::Owned),
                other.to_string(),
            ),
        }
    })
}

/// What went wrong, by serde's kinds.
#[derive(Debug)]
enum BodyError {
    /// A value of another JSON type: "a number" where "a string" was expected.
    InvalidType {
        found: String,
        expected: String,
    },
    Missing,
    Unknown,
    Other(String),
}

impl fmt::Display for BodyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BodyError::InvalidType { found, expected } => write!(f, "{found}, expected {expected}"),
            BodyError::Missing => f.write_str("missing"),
            BodyError::Unknown => f.write_str("unknown field"),
            BodyError::Other(message) => f.write_str(message),
        }
    }
}

impl std::error::Error for BodyError {}

impl de::Error for BodyError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        BodyError::Other(msg.to_string())
    }

    fn invalid_type(unexpected: Unexpected, expected: &dyn Expected) -> Self {
        BodyError::InvalidType {
            found: json_kind(&unexpected),
            expected: expected.to_string(),
        }
    }

    fn missing_field(_field: &'static str) -> Self {
        BodyError::Missing
    }

    fn unknown_field(_field: &str, _expected: &'static [&'static str]) -> Self {
        BodyError::Unknown
    }
}

/// "an array", "a number", ...: what a client sent where something else was expected.
fn json_kind(unexpected: &Unexpected) -> String {
    match unexpected {
        Unexpected::Unit => "null",
        Unexpected::Bool(_) => "a boolean",
        Unexpected::Unsigned(_) | Unexpected::Signed(_) | Unexpected::Float(_) => "a number",
        Unexpected::Str(_) => "a string",
        Unexpected::Seq => "an array",
        Unexpected::Map => "an object",
        // No JSON value is anything else.
        other => return other.to_string(),
    }
    .to_owned()
}

fn unexpected(value: &Value) -> Unexpected<'_> {
    match value {
        Value::Null => Unexpected::Unit,
        Value::Bool(b) => Unexpected::Bool(*b),
        Value::Number(n) => match (n.as_u64(), n.as_i64()) {
            (Some(u), _) => Unexpected::Unsigned(u),
            (_, Some(i)) => Unexpected::Signed(i),
            _ => Unexpected::Float(n.as_f64().unwrap_or(f64::NAN)),
        },
        Value::String(s) => Unexpected::Str(s),
        Value::Array(_) => Unexpected::Seq,
        Value::Object(_) => Unexpected::Map,
    }
}

/// A JSON value as a serde deserializer with [`BodyError`]s.
struct Json(Value);

impl<'de> IntoDeserializer<'de, BodyError> for Json {
    type Deserializer = Self;

    fn into_deserializer(self) -> Self {
        self
    }
}

impl<'de> de::Deserializer<'de> for Json {
    type Error = BodyError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, BodyError> {
        match self.0 {
            Value::Null => visitor.visit_unit(),
            Value::Bool(b) => visitor.visit_bool(b),
            Value::Number(n) => match (n.as_u64(), n.as_i64()) {
                (Some(u), _) => visitor.visit_u64(u),
                (_, Some(i)) => visitor.visit_i64(i),
                _ => visitor.visit_f64(n.as_f64().unwrap_or(f64::NAN)),
            },
            Value::String(s) => visitor.visit_string(s),
            Value::Array(items) => {
                visitor.visit_seq(de::value::SeqDeserializer::new(items.into_iter().map(Json)))
            }
            Value::Object(map) => visitor.visit_map(Fields::new(map, &[])),
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, BodyError> {
        match self.0 {
            Value::Null => visitor.visit_none(),
            value => visitor.visit_some(Json(value)),
        }
    }

    /// Only from an object, its declared fields first.
    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, BodyError> {
        match self.0 {
            Value::Object(map) => visitor.visit_map(Fields::new(map, fields)),
            other => Err(de::Error::invalid_type(unexpected(&other), &visitor)),
        }
    }

    forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        unit unit_struct newtype_struct seq tuple tuple_struct map enum identifier ignored_any
    }
}

/// An object's entries: each of `declared` (absent ones as [`Absent`]), then the other keys
/// in order.
struct Fields {
    declared: std::slice::Iter<'static, &'static str>,
    map: Map<String, Value>,
    value: Option<Json>,
    absent: Option<&'static str>,
}

impl Fields {
    fn new(map: Map<String, Value>, declared: &'static [&'static str]) -> Self {
        Fields {
            declared: declared.iter(),
            map,
            value: None,
            absent: None,
        }
    }
}

impl<'de> MapAccess<'de> for Fields {
    type Error = BodyError;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, BodyError> {
        if let Some(&name) = self.declared.next() {
            match self.map.remove(name) {
                Some(value) => self.value = Some(Json(value)),
                None => self.absent = Some(name),
            }
            return seed.deserialize(name.into_deserializer()).map(Some);
        }
        let Some(key) = self.map.keys().next().cloned() else {
            return Ok(None);
        };
        self.value = self.map.remove(&key).map(Json);
        seed.deserialize(key.into_deserializer()).map(Some)
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, BodyError> {
        match (self.value.take(), self.absent.take()) {
            (Some(value), _) => seed.deserialize(value),
            (None, Some(name)) => seed.deserialize(Absent(name)),
            (None, None) => Err(de::Error::custom("a value asked for before its key")),
        }
    }
}

/// The value of a declared field the object does not have: missing, unless it is optional.
struct Absent(&'static str);

impl<'de> de::Deserializer<'de> for Absent {
    type Error = BodyError;

    fn deserialize_any<V: Visitor<'de>>(self, _visitor: V) -> Result<V::Value, BodyError> {
        Err(de::Error::missing_field(self.0))
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, BodyError> {
        visitor.visit_none()
    }

    forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        unit unit_struct newtype_struct seq tuple tuple_struct map struct enum identifier
        ignored_any
    }
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;
    use serde_json::json;

    use super::*;

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(deny_unknown_fields)]
    struct Pair {
        first: String,
        second: String,
    }

    impl RequestBody for Pair {
        const ONLY: &'static str = "send only first and second";
    }

    /// The 422's field and message for `json`.
    fn refusal(json: Value) -> (String, String) {
        match body::<Pair>(json) {
            Err(AppError::Validation { field, message }) => (field.into_owned(), message),
            other => panic!("expected a 422, got {other:?}"),
        }
    }

    #[test]
    fn a_struct_is_read_from_an_object_of_its_fields() {
        let pair = body::<Pair>(json!({"second": "b", "first": "a"})).unwrap();
        assert_eq!(
            pair,
            Pair {
                first: "a".into(),
                second: "b".into()
            }
        );
    }

    #[test]
    fn only_an_object_is_a_body() {
        for (json, kind) in [
            (json!(["a", "b"]), "an array"),
            (json!("a b"), "a string"),
            (json!(1.5), "a number"),
            (json!(-3), "a number"),
            (json!(true), "a boolean"),
            (json!(null), "null"),
        ] {
            assert_eq!(
                refusal(json),
                (
                    "$".to_owned(),
                    format!("the request body must be a JSON object, not {kind}")
                )
            );
        }
    }

    #[test]
    fn the_first_declared_field_at_fault_is_named_before_any_unknown_key() {
        let cases = [
            (json!({}), "first", "first is missing"),
            (json!({"second": 5}), "first", "first is missing"),
            (
                json!({"second": 5, "first": null}),
                "first",
                "first must be a string, not null",
            ),
            (
                json!({"first": "a", "aaa": 1}),
                "second",
                "second is missing",
            ),
            (
                json!({"first": "a", "second": {}}),
                "second",
                "second must be a string, not an object",
            ),
            (
                json!({"first": "a", "second": []}),
                "second",
                "second must be a string, not an array",
            ),
            (
                json!({"zz": 1, "first": "a", "second": "b", "aa": 1}),
                "aa",
                "unknown field: send only first and second",
            ),
        ];
        for (json, field, message) in cases {
            assert_eq!(
                refusal(json.clone()),
                (field.to_owned(), message.to_owned()),
                "{json}"
            );
        }
    }

    #[test]
    fn an_unknown_key_is_echoed_cut_to_64_characters() {
        let key = "é".repeat(100);
        let (field, _) = refusal(json!({"first": "a", "second": "b", key: 1}));
        assert_eq!(field, "é".repeat(64));
    }
}
