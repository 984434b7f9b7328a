//! The guestbook's rules, apart from HTTP and SQL: a value of one of these types has passed
//! its checks, so code that receives one need not check again.

mod account;
mod idempotency_key;
mod page;
mod post;

pub use account::{LoginThrottle, Password, Username};
pub use idempotency_key::IdempotencyKey;
pub use page::{Page, PAGE_DEFAULT, PAGE_MAX};
pub use post::{Body, NewPost, PostId, Title};

/// The input a rule is about. An enum, not a string, so the web layer maps every one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    Title,
    Body,
    Limit,
    Before,
    PostId,
    IdempotencyKey,
    Username,
    Password,
    CurrentPassword,
    NewPassword,
}

impl Field {
    /// The name clients use for it.
    pub fn name(self) -> &'static str {
        match self {
            Field::Title => "title",
            Field::Body => "body",
            Field::Limit => "limit",
            Field::Before => "before",
            Field::PostId => "id",
            Field::IdempotencyKey => "Idempotency-Key",
            Field::Username => "username",
            Field::Password => "password",
            Field::CurrentPassword => "current_password",
            Field::NewPassword => "new_password",
        }
    }
}

/// An input that breaks a rule: which one, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{} {reason}", field.name())]
pub struct DomainError {
    pub field: Field,
    pub reason: String,
}

impl DomainError {
    pub fn new(field: Field, reason: impl Into<String>) -> Self {
        Self {
            field,
            reason: reason.into(),
        }
    }
}
