use super::{DomainError, Field, PostId};

pub const PAGE_MAX: i64 = 100;
pub const PAGE_DEFAULT: i64 = 20;

/// One page of the newest-first listing: `limit` posts older than `before`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    limit: i64,
    before: Option<PostId>,
}

impl Page {
    /// Takes the query string's text, so that a non-number breaks the same rule as a number out
    /// of range (`limit=abc`, `limit=99999999999999999999` and `limit=0` alike).
    pub fn parse(limit: Option<&str>, before: Option<&str>) -> Result<Self, DomainError> {
        let limit = match limit {
            None => PAGE_DEFAULT,
            Some(text) => text
                .parse::<i64>()
                .ok()
                .filter(|limit| (1..=PAGE_MAX).contains(limit))
                .ok_or_else(|| {
                    DomainError::new(
                        Field::Limit,
                        format!("must be a whole number from 1 to {PAGE_MAX}"),
                    )
                })?,
        };
        let before = before
            .map(PostId::parse_text)
            .transpose()
            // Same rule as an id, but the client sent it as `before`.
            .map_err(|err| DomainError::new(Field::Before, err.reason))?;
        Ok(Page { limit, before })
    }

    /// 1 to [`PAGE_MAX`].
    pub fn limit(&self) -> i64 {
        self.limit
    }

    pub fn before(&self) -> Option<PostId> {
        self.before
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_defaults_to_twenty_newest() {
        let page = Page::parse(None, None).unwrap();
        assert_eq!((page.limit(), page.before()), (20, None));
    }

    #[test]
    fn page_bounds_are_enforced_by_field() {
        assert!(Page::parse(Some("100"), Some("1")).is_ok());
        assert!(Page::parse(Some("1"), Some("9223372036854775807")).is_ok());
        for (limit, before, field) in [
            (Some("0"), None, Field::Limit),
            (Some("101"), None, Field::Limit),
            (Some("-1"), None, Field::Limit),
            (Some("abc"), None, Field::Limit),
            (Some("1.5"), None, Field::Limit),
            (Some(""), None, Field::Limit),
            (Some("99999999999999999999"), None, Field::Limit),
            (None, Some("0"), Field::Before),
            (None, Some("-1"), Field::Before),
            (None, Some("x"), Field::Before),
            (None, Some("9223372036854775808"), Field::Before),
        ] {
            let err = Page::parse(limit, before).unwrap_err();
            assert_eq!(err.field, field, "{limit:?}/{before:?}");
        }
    }

    #[test]
    fn bad_cursor_is_explained_as_before() {
        let err = Page::parse(None, Some("-3")).unwrap_err();
        assert_eq!(err.to_string(), "before must be a positive post id");
    }
}
