use lambda_http::{Request, RequestExt};
use serde_json::{Map, Value};

use super::FieldError;

pub fn header<'a>(req: &'a Request, name: &str) -> Option<&'a str> {
    req.headers().get(name).and_then(|v| v.to_str().ok())
}

pub fn path_param(req: &Request, name: &str) -> Option<String> {
    req.path_parameters_ref()
        .and_then(|p| p.first(name))
        .map(str::to_owned)
}

pub fn query_param(req: &Request, name: &str) -> Option<String> {
    req.query_string_parameters_ref()
        .and_then(|q| q.first(name))
        .map(str::to_owned)
}

/// A JSON object body read field by field, collecting every problem at once.
pub struct JsonBody {
    object: Map<String, Value>,
    pub errors: Vec<FieldError>,
}

impl JsonBody {
    /// `Err` carries the single error for a body that is not a JSON object.
    pub fn parse(req: &Request) -> Result<Self, FieldError> {
        let bytes: &[u8] = req.body().as_ref();
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Err(FieldError::new(&["body"], "Field required", "missing"));
        }
        match serde_json::from_slice::<Value>(bytes) {
            Ok(Value::Object(object)) => Ok(Self {
                object,
                errors: Vec::new(),
            }),
            Ok(_) => Err(FieldError::new(
                &["body"],
                "Input should be a valid dictionary or object",
                "model_attributes_type",
            )),
            Err(_) => Err(FieldError::new(
                &["body"],
                "JSON decode error",
                "json_invalid",
            )),
        }
    }

    pub fn get(&self, name: &str) -> Option<&Value> {
        self.object.get(name).filter(|v| !v.is_null())
    }

    pub fn required_str(&mut self, name: &str) -> Option<String> {
        match self.object.get(name) {
            None | Some(Value::Null) => {
                self.errors.push(FieldError::new(
                    &["body", name],
                    "Field required",
                    "missing",
                ));
                None
            }
            Some(v) => self.string(name, v.clone()),
        }
    }

    pub fn optional_str(&mut self, name: &str) -> Option<String> {
        match self.object.get(name) {
            None | Some(Value::Null) => None,
            Some(v) => self.string(name, v.clone()),
        }
    }

    fn string(&mut self, name: &str, v: Value) -> Option<String> {
        match v {
            Value::String(s) if !s.trim().is_empty() => Some(s),
            Value::String(_) => {
                self.errors.push(FieldError::new(
                    &["body", name],
                    "String should have at least 1 character",
                    "string_too_short",
                ));
                None
            }
            _ => {
                self.errors.push(FieldError::new(
                    &["body", name],
                    "Input should be a valid string",
                    "string_type",
                ));
                None
            }
        }
    }

    pub fn invalid(&mut self, loc: &[&str], msg: impl Into<String>) {
        self.errors.push(FieldError::new(loc, msg, "value_error"));
    }

    /// The collected errors, if any.
    pub fn finish(self) -> Result<(), Vec<FieldError>> {
        if self.errors.is_empty() {
            Ok(())
        } else {
            Err(self.errors)
        }
    }
}
