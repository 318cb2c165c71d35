//! Ansible's `now()` global: the controller's clock as a Python-like datetime (attributes
//! `year` … `microsecond`, methods `strftime` and `isoformat`, printed as `str(datetime)`),
//! or, with `fmt`, the time already formatted with Python's strftime codes.

use chrono::format::{Item, StrftimeItems};
use chrono::{DateTime, Datelike, FixedOffset, Local, Timelike, Utc};
use minijinja::value::{Kwargs, Object, ObjectRepr, Value};
use minijinja::{Error, ErrorKind, State};
use std::fmt;
use std::sync::Arc;

/// A point in time as Python's naive `datetime` shows it (local time, or UTC with `utc`).
#[derive(Debug)]
struct PyDateTime(DateTime<FixedOffset>);

fn fail(msg: impl Into<String>) -> Error {
    Error::new(ErrorKind::InvalidOperation, msg.into())
}

/// Python's strftime codes in chrono's terms: `%f` is microseconds there, nanoseconds here.
/// Codes chrono does not know are an error, not a panic while printing.
pub fn py_strftime(t: &DateTime<FixedOffset>, fmt: &str) -> Result<String, Error> {
    let mut chrono_fmt = String::with_capacity(fmt.len() + 4);
    let mut chars = fmt.chars();
    while let Some(c) = chars.next() {
        chrono_fmt.push(c);
        if c == '%' {
            match chars.next() {
                Some('f') => chrono_fmt.push_str("6f"),
                Some(other) => chrono_fmt.push(other),
                None => {}
            }
        }
    }
    let items: Vec<Item> = StrftimeItems::new(&chrono_fmt).collect();
    if items.iter().any(|i| matches!(i, Item::Error)) {
        return Err(fail(format!("invalid format string for strftime: '{fmt}'")));
    }
    Ok(t.format_with_items(items.into_iter()).to_string())
}

impl fmt::Display for PyDateTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // str(datetime) leaves the microseconds out when they are zero.
        let micro = self.0.nanosecond() / 1000;
        write!(f, "{}", self.0.format("%Y-%m-%d %H:%M:%S"))?;
        if micro != 0 {
            write!(f, ".{micro:06}")?;
        }
        Ok(())
    }
}

impl Object for PyDateTime {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Plain
    }

    fn render(self: &Arc<Self>, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self.as_ref(), f)
    }

    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        let t = &self.0;
        let v = match key.as_str()? {
            "year" => t.year() as i64,
            "month" => t.month() as i64,
            "day" => t.day() as i64,
            "hour" => t.hour() as i64,
            "minute" => t.minute() as i64,
            "second" => t.second() as i64,
            "microsecond" => (t.nanosecond() / 1000) as i64,
            _ => return None,
        };
        Some(Value::from(v))
    }

    fn call_method(
        self: &Arc<Self>,
        _state: &mut State,
        method: &str,
        args: &[Value],
    ) -> Result<Value, Error> {
        match method {
            "strftime" => {
                let fmt = args
                    .first()
                    .and_then(|v| v.as_str())
                    .ok_or_else(|| fail("strftime() takes a format string"))?;
                Ok(Value::from(py_strftime(&self.0, fmt)?))
            }
            "isoformat" => Ok(Value::from(self.to_string().replacen(' ', "T", 1))),
            "timestamp" => Ok(Value::from(
                self.0.timestamp() as f64 + f64::from(self.0.nanosecond()) / 1e9,
            )),
            _ => Err(Error::new(
                ErrorKind::UnknownMethod,
                format!("datetime has no method named {method}"),
            )),
        }
    }
}

/// `now(utc=False, fmt=None)`.
fn now(kwargs: Kwargs) -> Result<Value, Error> {
    let utc: Option<bool> = kwargs.get("utc")?;
    let fmt: Option<String> = kwargs.get("fmt")?;
    kwargs.assert_all_used()?;
    let t = if utc.unwrap_or(false) {
        Utc::now().fixed_offset()
    } else {
        Local::now().fixed_offset()
    };
    match fmt {
        Some(f) => Ok(Value::from(py_strftime(&t, &f)?)),
        None => Ok(Value::from_object(PyDateTime(t))),
    }
}

pub fn register(env: &mut minijinja::Environment<'static>) {
    env.add_function("now", now);
}

#[cfg(test)]
mod unit {
    use super::*;

    fn at(s: &str) -> DateTime<FixedOffset> {
        DateTime::parse_from_rfc3339(s).unwrap()
    }

    #[test]
    fn python_codes() {
        let t = at("2024-03-05T07:08:09.012345+00:00");
        assert_eq!(py_strftime(&t, "%s.%f").unwrap(), "1709622489.012345");
        assert_eq!(
            py_strftime(&t, "%Y-%m-%d %%f %%%f").unwrap(),
            "2024-03-05 %f %012345"
        );
        assert!(py_strftime(&t, "%Q").is_err());
    }

    #[test]
    fn prints_as_python() {
        assert_eq!(
            PyDateTime(at("2024-03-05T07:08:09.5+00:00")).to_string(),
            "2024-03-05 07:08:09.500000"
        );
        assert_eq!(
            PyDateTime(at("2024-03-05T07:08:09+00:00")).to_string(),
            "2024-03-05 07:08:09"
        );
    }
}
