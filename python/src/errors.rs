//! The trainer's and decoder's errors as Python exceptions: a file that cannot be read is an `OSError`
//! (`FileNotFoundError`, `PermissionError`, ...), anything else (a bad model file, a bad corpus line, an
//! option out of range) a `ValueError`; the message is the error chain, which names the file.

use pyo3::exceptions::{PyFileNotFoundError, PyIsADirectoryError, PyOSError, PyPermissionError, PyValueError};
use pyo3::PyErr;

/// The error chain as one line, outermost first, leaving out a cause that its parent's message already
/// quotes (the corpus reader's errors repeat their `io::Error`, which is also their source).
pub fn chain_message(error: &anyhow::Error) -> String {
    let mut message = String::new();
    for cause in error.chain() {
        let text = cause.to_string();
        if message.contains(&text) {
            continue;
        }
        if !message.is_empty() {
            message.push_str(": ");
        }
        message.push_str(&text);
    }
    message
}

/// The Python exception for `error`, with `message` (the error's chain unless the caller rewrote it).
pub fn to_py_err_with(error: &anyhow::Error, message: String) -> PyErr {
    let io_kind = error.chain().find_map(|cause| cause.downcast_ref::<std::io::Error>()).map(std::io::Error::kind);
    match io_kind {
        None => PyValueError::new_err(message),
        Some(std::io::ErrorKind::NotFound) => PyFileNotFoundError::new_err(message),
        Some(std::io::ErrorKind::PermissionDenied) => PyPermissionError::new_err(message),
        Some(std::io::ErrorKind::IsADirectory) => PyIsADirectoryError::new_err(message),
        Some(_) => PyOSError::new_err(message),
    }
}

/// The Python exception for `error`.
pub fn to_py_err(error: anyhow::Error) -> PyErr {
    let message = chain_message(&error);
    to_py_err_with(&error, message)
}
