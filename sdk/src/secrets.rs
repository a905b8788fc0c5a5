//! Secrets by handle, through the `warden:tool/secrets` import.
//!
//! A tool never sees a secret's plaintext. It asks for a secret the operator granted it (by
//! the name the manifest gives it) and gets an opaque *token*, random for each call. The tool
//! puts the token in an outgoing HTTP request **header** value; the host swaps in the plaintext
//! when the request goes to one of the secret's hosts. A token anywhere else (in the URL, in the
//! body, or in a request to another destination) makes the host refuse the request, which
//! [`http`](crate::http) reports as [`http::Error::Denied`](crate::http::Error::Denied).
//!
//! # Examples
//!
//! ```no_run
//! use warden_sdk::{http, secrets};
//!
//! fn whoami() -> Result<String, String> {
//!     let response = http::Request::get("https://api.github.com/user")
//!         .header("authorization", secrets::bearer("github")?)
//!         .header("user-agent", "my-tool/0.1")
//!         .send(64 * 1024)?;
//!     Ok(String::from_utf8_lossy(&response.body).into_owned())
//! }
//! ```

use std::fmt;

pub use crate::bindings::warden::tool::secrets::Secret;
use crate::bindings::warden::tool::secrets::get as get_secret;

/// The host would not hand out a secret, usually because the manifest does not grant it to
/// this component.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    /// The name asked for.
    pub name: String,
    /// The host's explanation.
    pub message: String,
}

/// The host's message, led by the secret's name unless the message already names it.
impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.message.contains(&self.name) {
            f.write_str(&self.message)
        } else {
            write!(f, "secret `{}`: {}", self.name, self.message)
        }
    }
}

impl std::error::Error for Error {}

/// Lets `?` turn the error into a tool's `Result<_, String>` error.
impl From<Error> for String {
    fn from(error: Error) -> Self {
        error.to_string()
    }
}

/// The granted secret called `name`, as a handle.
///
/// Most tools need only [`token`] or [`bearer`]; the handle also tells the secret's
/// [`name`](Secret::name).
///
/// # Errors
///
/// [`Error`] when the manifest does not grant this component a secret called `name`.
pub fn get(name: &str) -> Result<Secret, Error> {
    get_secret(name).map_err(|message| Error {
        name: name.to_owned(),
        message,
    })
}

/// The token standing for the granted secret `name`: put it in an HTTP request header value.
///
/// The token is valid for the current call only.
///
/// # Errors
///
/// [`Error`] when the manifest does not grant this component a secret called `name`.
///
/// # Examples
///
/// ```no_run
/// # fn run() -> Result<(), warden_sdk::secrets::Error> {
/// let token = warden_sdk::secrets::token("api-key")?;
/// let request = warden_sdk::http::Request::get("https://api.example.org/items")
///     .header("x-api-key", token);
/// # Ok(()) }
/// ```
pub fn token(name: &str) -> Result<String, Error> {
    Ok(get(name)?.token())
}

/// `"Bearer <token>"` for the granted secret `name`: the value of an `authorization` header.
///
/// # Errors
///
/// [`Error`] when the manifest does not grant this component a secret called `name`.
///
/// # Examples
///
/// ```no_run
/// # fn run() -> Result<(), warden_sdk::secrets::Error> {
/// let request = warden_sdk::http::Request::get("https://api.github.com/user")
///     .header("authorization", warden_sdk::secrets::bearer("github")?);
/// # Ok(()) }
/// ```
pub fn bearer(name: &str) -> Result<String, Error> {
    Ok(format!("Bearer {}", token(name)?))
}

#[cfg(test)]
mod tests {
    use super::Error;

    #[test]
    fn error_names_the_secret_once_and_keeps_the_host_message() {
        let error = |message: &str| {
            String::from(Error {
                name: "github".to_owned(),
                message: message.to_owned(),
            })
        };
        assert_eq!(
            error("not granted to this component"),
            "secret `github`: not granted to this component"
        );
        assert_eq!(
            error("the secret `github` is not granted to this component"),
            "the secret `github` is not granted to this component"
        );
    }
}
