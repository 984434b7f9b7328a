use super::{DomainError, Field, IdempotencyKey};

/// Declares a text newtype that holds trimmed text of 1 to `$max` characters without control
/// characters (line breaks and tabs too, unless `$multiline`). The post fields differ
/// only in these numbers, so they share one definition.
macro_rules! text_field {
    ($(#[$doc:meta])* $name:ident, $field:expr, $max:expr, multiline: $multiline:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub struct $name(String);

        impl $name {
            pub const MAX_CHARS: usize = $max;

            pub fn parse(raw: &str) -> Result<Self, DomainError> {
                parse_text($field, raw, Self::MAX_CHARS, $multiline).map($name)
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }
    };
}

text_field!(
    /// A post's heading: 1–200 characters on one line.
    Title, Field::Title, 200, multiline: false
);
text_field!(
    /// A post's text: 1–10 000 characters; line breaks and tabs allowed.
    Body, Field::Body, 10_000, multiline: true
);

fn parse_text(
    field: Field,
    raw: &str,
    max_chars: usize,
    multiline: bool,
) -> Result<String, DomainError> {
    let text = raw.trim();
    if text.chars().all(is_invisible) {
        return Err(DomainError::new(field, "must not be empty"));
    }
    let chars = text.chars().count();
    if chars > max_chars {
        return Err(DomainError::new(
            field,
            format!("is {chars} characters long, at most {max_chars} are allowed"),
        ));
    }
    let allowed = |c: char| multiline && matches!(c, '\n' | '\r' | '\t');
    if text.chars().any(|c| c.is_control() && !allowed(c)) {
        return Err(DomainError::new(
            field,
            "must not contain control characters",
        ));
    }
    Ok(text.to_owned())
}

/// Whether `c` shows nothing by itself: Unicode whitespace (what `trim` removes) or a
/// Default_Ignorable_Code_Point (Unicode's DerivedCoreProperties: zero-width space and joiners,
/// word joiner, BOM, soft hyphen, bidi marks, variation selectors, Hangul fillers, tags...).
/// A text of only these looks empty, so it is refused as empty.
fn is_invisible(c: char) -> bool {
    c.is_whitespace()
        || matches!(
            c,
            '\u{00AD}'
                | '\u{034F}'
                | '\u{061C}'
                | '\u{115F}'..='\u{1160}'
                | '\u{17B4}'..='\u{17B5}'
                | '\u{180B}'..='\u{180F}'
                | '\u{200B}'..='\u{200F}'
                | '\u{202A}'..='\u{202E}'
                | '\u{2060}'..='\u{206F}'
                | '\u{3164}'
                | '\u{FE00}'..='\u{FE0F}'
                | '\u{FEFF}'
                | '\u{FFA0}'
                | '\u{FFF0}'..='\u{FFF8}'
                | '\u{1BCA0}'..='\u{1BCA3}'
                | '\u{1D173}'..='\u{1D17A}'
                | '\u{E0000}'..='\u{E0FFF}'
        )
}

/// The id of a stored post: positive, as the database's sequence hands them out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct PostId(i64);

impl PostId {
    pub fn parse(raw: i64) -> Result<Self, DomainError> {
        if raw < 1 {
            return Err(DomainError::new(
                Field::PostId,
                "must be a positive post id",
            ));
        }
        Ok(PostId(raw))
    }

    /// An id as a client writes it (a query value): anything but a whole number from 1 to
    /// `i64::MAX` is refused, overflow included.
    pub fn parse_text(raw: &str) -> Result<Self, DomainError> {
        raw.parse::<i64>()
            .map_err(|_| DomainError::new(Field::PostId, "must be a positive post id"))
            .and_then(Self::parse)
    }

    pub fn get(self) -> i64 {
        self.0
    }
}

/// A post that passed every rule, ready to store. Its fields can only hold parsed values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewPost {
    pub title: Title,
    pub body: Body,
    /// Set when the client asked for a retry-safe write.
    pub idempotency_key: Option<IdempotencyKey>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rejected_field<T: std::fmt::Debug>(result: Result<T, DomainError>) -> Field {
        result.expect_err("rejected").field
    }

    #[test]
    fn valid_text_is_trimmed() {
        assert_eq!(Title::parse("  Ann ").unwrap().as_str(), "Ann");
        assert_eq!(Title::parse("\tHello\n").unwrap().as_str(), "Hello");
        assert_eq!(
            Body::parse("  first line\nsecond\t ").unwrap().as_str(),
            "first line\nsecond"
        );
    }

    #[test]
    fn blank_text_is_rejected_by_name() {
        assert_eq!(rejected_field(Title::parse("  ")), Field::Title);
        assert_eq!(rejected_field(Title::parse("")), Field::Title);
        assert_eq!(rejected_field(Body::parse("\n\t ")), Field::Body);
        assert_eq!(
            Title::parse("").unwrap_err().to_string(),
            "title must not be empty"
        );
    }

    #[test]
    fn limits_count_characters_not_bytes() {
        assert!(Title::parse(&"é".repeat(Title::MAX_CHARS)).is_ok());
        let too_long = Title::parse(&"é".repeat(Title::MAX_CHARS + 1));
        assert_eq!(
            too_long.unwrap_err().to_string(),
            "title is 201 characters long, at most 200 are allowed"
        );
        let title = "x".repeat(Title::MAX_CHARS + 1);
        assert_eq!(rejected_field(Title::parse(&title)), Field::Title);
        assert_eq!(
            rejected_field(Body::parse(&"x".repeat(Body::MAX_CHARS + 1))),
            Field::Body
        );
        assert!(Body::parse(&"x".repeat(Body::MAX_CHARS)).is_ok());
    }

    #[test]
    fn text_of_only_invisible_characters_is_empty() {
        for invisible in [
            "\u{200B}",
            "\u{200C}\u{200D}",
            " \u{2060} ",
            "\u{FEFF}",
            "\u{00AD}\u{00AD}",
            "\u{3000}\u{00A0}\u{2003}",
            "\u{E0041}",
        ] {
            let err = Title::parse(invisible).unwrap_err();
            assert_eq!(err.to_string(), "title must not be empty", "{invisible:?}");
            assert_eq!(rejected_field(Title::parse(invisible)), Field::Title);
            assert_eq!(rejected_field(Body::parse(invisible)), Field::Body);
        }
    }

    #[test]
    fn invisible_characters_beside_visible_ones_are_kept() {
        assert_eq!(Title::parse("A\u{200D}n").unwrap().as_str(), "A\u{200D}n");
        assert!(Title::parse("\u{FEFF}x").is_ok());
    }

    #[test]
    fn control_characters_are_rejected() {
        assert_eq!(rejected_field(Title::parse("a\u{7}b")), Field::Title);
        assert_eq!(rejected_field(Title::parse("t\nx")), Field::Title);
        assert_eq!(rejected_field(Body::parse("b\u{0}c")), Field::Body);
        assert_eq!(rejected_field(Body::parse("b\u{1b}[31m")), Field::Body);
    }

    #[test]
    fn post_ids_are_positive() {
        assert_eq!(PostId::parse(1).unwrap().get(), 1);
        assert_eq!(rejected_field(PostId::parse(0)), Field::PostId);
        assert_eq!(rejected_field(PostId::parse(-7)), Field::PostId);
        assert_eq!(PostId::parse_text("42").unwrap().get(), 42);
        for bad in ["0", "-1", "abc", "", "9223372036854775808"] {
            assert_eq!(rejected_field(PostId::parse_text(bad)), Field::PostId);
        }
    }
}
