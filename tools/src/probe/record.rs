//! What the probe remembers about each request it sent.

use serde::{Deserialize, Serialize};

/// Which of the request types in the mix a request was.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// `GET /`: the static page, served by nginx.
    Page,
    /// `GET /api/posts?limit=20`.
    List,
    /// `POST /api/posts`.
    Write,
}

impl Kind {
    /// The answer that counts as success for this kind.
    pub fn ok_status(self) -> u16 {
        match self {
            Kind::Page | Kind::List => 200,
            Kind::Write => 201,
        }
    }
}

/// Why a request got no complete HTTP answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ErrorKind {
    /// Nothing listened: the request never reached a server.
    Refused,
    /// The connection broke: closed, reset or an incomplete answer.
    Reset,
    /// No complete answer within the deadline.
    Timeout,
    Other,
}

impl ErrorKind {
    pub const ALL: [ErrorKind; 4] = [
        ErrorKind::Refused,
        ErrorKind::Reset,
        ErrorKind::Timeout,
        ErrorKind::Other,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Refused => "refused",
            ErrorKind::Reset => "reset",
            ErrorKind::Timeout => "timeout",
            ErrorKind::Other => "other",
        }
    }
}

/// One request: when it was planned and sent, and what came back. Times are milliseconds
/// since the start of the run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Record {
    pub seq: u64,
    pub kind: Kind,
    /// When the open-loop schedule said to send it.
    pub scheduled_ms: f64,
    /// When it was actually sent (a late scheduler shows up as `sent_ms > scheduled_ms`).
    pub sent_ms: f64,
    /// From sending to the end of the answer's body, or to the error.
    pub latency_ms: f64,
    pub status: Option<u16>,
    /// Set when the answer was not complete, even if its status line came.
    pub error: Option<ErrorKind>,
    /// `X-App-Version`: only answers that went through the app carry it.
    pub version: Option<String>,
    /// A 503 with `Retry-After`: the maintenance page or JSON.
    pub maintenance: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idempotency_key: Option<String>,
    /// The created post's id, for writes answered 201 whose body was the post's JSON; `None`
    /// if it was cut off or did not parse (the audit then reads the post back by its title).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<i64>,
    /// With `--retry-writes`: how many times the write was sent again after its first attempt,
    /// and when (ms since the start) a retry was acknowledged.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub retries: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acknowledged_ms: Option<f64>,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

impl Record {
    /// A complete answer with the status this kind expects.
    pub fn is_ok(&self) -> bool {
        self.error.is_none() && self.status == Some(self.kind.ok_status())
    }

    /// A write the server acknowledged: answered 201 (the post is committed by then, even if
    /// the answer's body was then cut off or did not parse), or acknowledged on a retry.
    pub fn acknowledged(&self) -> bool {
        self.kind == Kind::Write && (self.status == Some(201) || self.acknowledged_ms.is_some())
    }

    /// When the answer (or the error) came.
    pub fn done_ms(&self) -> f64 {
        self.sent_ms + self.latency_ms
    }

    /// A short name for what went wrong, as reports group failures: the error kind, else the
    /// status (`503 maintenance` for nginx's maintenance page, `503 from app` when the app
    /// itself answered 503, e.g. without its database).
    pub fn failure_label(&self) -> Option<String> {
        if self.is_ok() {
            return None;
        }
        Some(match (self.error, self.status) {
            (Some(error), _) => error.as_str().to_owned(),
            // nginx's maintenance answer never went through the app, so it has no version.
            (None, Some(503)) if self.maintenance && self.version.is_none() => {
                "503 maintenance".to_owned()
            }
            (None, Some(503)) if self.version.is_some() => "503 from app".to_owned(),
            (None, Some(status)) => status.to_string(),
            (None, None) => ErrorKind::Other.as_str().to_owned(),
        })
    }
}

#[cfg(test)]
pub(crate) mod sample {
    //! Hand-made records for the unit tests.

    use super::*;

    /// An answer from the app: `status` after `latency_ms`, from `version`.
    pub fn answer(seq: u64, kind: Kind, sent_ms: f64, latency_ms: f64, status: u16) -> Record {
        Record {
            seq,
            kind,
            scheduled_ms: sent_ms,
            sent_ms,
            latency_ms,
            status: Some(status),
            error: None,
            version: None,
            maintenance: false,
            idempotency_key: (kind == Kind::Write).then(|| format!("probe-test-{seq}")),
            id: None,
            retries: 0,
            acknowledged_ms: None,
        }
    }

    /// A 200 (or 201 for writes) from the app at `version`.
    pub fn ok(seq: u64, kind: Kind, sent_ms: f64, version: &str) -> Record {
        Record {
            version: Some(version.to_owned()),
            id: (kind == Kind::Write).then_some(seq as i64 + 1000),
            ..answer(seq, kind, sent_ms, 2.0, kind.ok_status())
        }
    }

    /// nginx's maintenance 503.
    pub fn maintenance(seq: u64, kind: Kind, sent_ms: f64) -> Record {
        Record {
            maintenance: true,
            ..answer(seq, kind, sent_ms, 1.0, 503)
        }
    }

    /// No answer: a timeout after the 2 s deadline, other errors at once.
    pub fn error(seq: u64, kind: Kind, sent_ms: f64, error: ErrorKind) -> Record {
        let latency_ms = if error == ErrorKind::Timeout {
            2000.0
        } else {
            1.0
        };
        Record {
            status: None,
            error: Some(error),
            ..answer(seq, kind, sent_ms, latency_ms, 0)
        }
    }
}
