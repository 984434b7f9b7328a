//! Value parsers for the tools' numeric command-line options (clap's `value_parser`).

/// A finite number for which `accept` holds; `expected` completes "expected ...".
fn number(text: &str, accept: impl Fn(f64) -> bool, expected: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(value) if value.is_finite() && accept(value) => Ok(value),
        _ => Err(format!("expected {expected}")),
    }
}

pub fn positive(text: &str) -> Result<f64, String> {
    number(text, |v| v > 0.0, "a number above 0")
}

pub fn non_negative(text: &str) -> Result<f64, String> {
    number(text, |v| v >= 0.0, "a number, 0 or more")
}

/// For growth factors: 1 or less would never grow.
pub fn above_one(text: &str) -> Result<f64, String> {
    number(text, |v| v > 1.0, "a number above 1")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds_are_checked_and_named() {
        assert_eq!(positive("2.5"), Ok(2.5));
        assert_eq!(positive("0"), Err("expected a number above 0".into()));
        assert_eq!(non_negative("0"), Ok(0.0));
        assert!(non_negative("-1").is_err());
        assert!(above_one("1").is_err());
        assert!(positive("inf").is_err() && positive("NaN").is_err() && positive("x").is_err());
    }
}
