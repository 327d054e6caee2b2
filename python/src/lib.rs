//! The Python module `crf_mcu`: load a model and segment or label text with the decoder, and train a
//! model with the trainer's library. `crf_mcu.pyi` is the Python-side documentation of every item.
//!
//! - [`model`]: `crf_mcu.Model` (load, `segment`, `cut`, `lcut`, `label`, `load_userdict`);
//! - [`user_dict`]: the user dictionary a model keeps;
//! - [`word_cache`]: the str objects of the words a model has returned, for their later occurrences;
//! - [`training`]: `crf_mcu.train` and its `TrainResult`;
//! - [`errors`]: the trainer's and decoder's errors as Python exceptions.

mod errors;
mod model;
mod training;
mod user_dict;
mod word_cache;

use pyo3::prelude::*;

/// Segment and label text with a crf-mcu model (a CRF character tagger that also runs on
/// microcontrollers), and train one.
#[pymodule]
fn crf_mcu(module: &Bound<'_, PyModule>) -> PyResult<()> {
    module.add_class::<model::Model>()?;
    module.add_class::<training::TrainResult>()?;
    module.add_function(wrap_pyfunction!(training::train, module)?)?;
    module.add("__version__", env!("CARGO_PKG_VERSION"))?;
    module.add("FORMAT_VERSION", decoder::FORMAT_VERSION)?;
    Ok(())
}
