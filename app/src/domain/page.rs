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
    pub fn parse(limit: Option<i64>, before: Option<i64>) -> Result<Self, DomainError> {
        let limit = limit.unwrap_or(PAGE_DEFAULT);
        if !(1..=PAGE_MAX).contains(&limit) {
            return Err(DomainError::new(
                Field::Limit,
                format!("must be between 1 and {PAGE_MAX}"),
            ));
        }
        let before = before
            .map(PostId::parse)
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
        assert!(Page::parse(Some(100), Some(1)).is_ok());
        for (limit, before, field) in [
            (Some(0), None, Field::Limit),
            (Some(101), None, Field::Limit),
            (Some(-1), None, Field::Limit),
            (None, Some(0), Field::Before),
        ] {
            let err = Page::parse(limit, before).unwrap_err();
            assert_eq!(err.field, field, "{limit:?}/{before:?}");
        }
    }

    #[test]
    fn bad_cursor_is_explained_as_before() {
        let err = Page::parse(None, Some(-3)).unwrap_err();
        assert_eq!(err.to_string(), "before must be a positive post id");
    }
}
