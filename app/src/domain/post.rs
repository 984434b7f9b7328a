use super::{DomainError, Field, IdempotencyKey};

/// Declares a text newtype that holds trimmed text of 1 to `$max` characters without control
/// characters (line breaks and tabs too, unless `$multiline`). The three post fields differ
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
    /// Who wrote a post: 1–50 characters on one line.
    Author, Field::Author, 50, multiline: false
);
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
    if text.is_empty() {
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

    pub fn get(self) -> i64 {
        self.0
    }
}

/// A post that passed every rule, ready to store. Its fields can only hold parsed values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewPost {
    pub author: Author,
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
        assert_eq!(Author::parse("  Ann ").unwrap().as_str(), "Ann");
        assert_eq!(Title::parse("\tHello\n").unwrap().as_str(), "Hello");
        assert_eq!(
            Body::parse("  first line\nsecond\t ").unwrap().as_str(),
            "first line\nsecond"
        );
    }

    #[test]
    fn blank_text_is_rejected_by_name() {
        assert_eq!(rejected_field(Author::parse("  ")), Field::Author);
        assert_eq!(rejected_field(Title::parse("")), Field::Title);
        assert_eq!(rejected_field(Body::parse("\n\t ")), Field::Body);
        assert_eq!(
            Author::parse("").unwrap_err().to_string(),
            "author must not be empty"
        );
    }

    #[test]
    fn limits_count_characters_not_bytes() {
        assert!(Author::parse(&"é".repeat(Author::MAX_CHARS)).is_ok());
        let too_long = Author::parse(&"é".repeat(Author::MAX_CHARS + 1));
        assert_eq!(
            too_long.unwrap_err().to_string(),
            "author is 51 characters long, at most 50 are allowed"
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
    fn control_characters_are_rejected() {
        assert_eq!(rejected_field(Author::parse("a\u{7}b")), Field::Author);
        assert_eq!(rejected_field(Title::parse("t\nx")), Field::Title);
        assert_eq!(rejected_field(Body::parse("b\u{0}c")), Field::Body);
        assert_eq!(rejected_field(Body::parse("b\u{1b}[31m")), Field::Body);
    }

    #[test]
    fn post_ids_are_positive() {
        assert_eq!(PostId::parse(1).unwrap().get(), 1);
        assert_eq!(rejected_field(PostId::parse(0)), Field::PostId);
        assert_eq!(rejected_field(PostId::parse(-7)), Field::PostId);
    }
}
