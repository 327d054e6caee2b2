//! The Python package (`python/`, module `crf_mcu`): a Python 3.10+ with `venv` (installed from
//! Debian when missing), a virtual environment under `target/` with maturin and pytest, the package
//! built and installed there, its Rust lints, its tests and its benchmark.
//!
//! The package is its own cargo workspace (the root one excludes it, so `cargo test --workspace` never
//! needs Python); its builds go to `target/python/`.

use std::{
    env, fs,
    path::{Path, PathBuf},
    process::{Command, Stdio},
};

use anyhow::{bail, Context, Result};

use crate::{
    measure,
    process::{self, find_on_path, stdout_of},
    toolchain::{apt_install, Missing},
    workspace_root,
};

/// Debian packages that give a Python 3 which can create virtual environments (with pip in them).
const PYTHON_PACKAGES: [&str; 2] = ["python3", "python3-venv"];
/// What the environment needs besides the package: its build backend and its test runner.
const VENV_REQUIREMENTS: [&str; 2] = ["maturin>=1.7,<2", "pytest>=7"];
/// Prints `ok` when the interpreter is recent enough for the abi3 wheel and can make a venv with pip.
const PYTHON_CHECK: &str = "import sys, venv, ensurepip; print('ok' if sys.version_info >= (3, 10) else 'too old')";

/// The package's directory.
pub fn package_dir() -> PathBuf {
    workspace_root().join("python")
}

/// Where the package's cargo builds go (under the workspace's `target/`, which git ignores).
fn cargo_target_dir() -> PathBuf {
    workspace_root().join("target").join("python")
}

/// The virtual environment the package is installed into for its tests and benchmark.
fn venv_dir() -> PathBuf {
    workspace_root().join("target").join("python-venv")
}

/// The trainer of the `ci-test` profile, which `cargo test --workspace --profile ci-test` has built
/// already (the tests compare the package with it).
pub fn ci_test_trainer() -> Result<PathBuf> {
    process::run(process::cargo().current_dir(workspace_root()).args([
        "build",
        "--profile",
        "ci-test",
        "-p",
        "trainer",
    ]))?;
    Ok(crate::host_target_dir().join("ci-test").join("trainer"))
}

/// A Python interpreter of the system (3.10 or later, with `venv` and `ensurepip`).
#[derive(Debug, Clone)]
pub struct SystemPython {
    path: PathBuf,
}

impl SystemPython {
    /// Finds `python3`, installing Debian's `python3` and `python3-venv` (as root) when it is missing or
    /// lacks `venv`.
    pub fn setup() -> Result<Self> {
        if let Some(python) = Self::usable() {
            let version = stdout_of(Command::new(&python.path).arg("--version")).unwrap_or_default();
            eprintln!("python: using {} ({version})", python.path.display());
            return Ok(python);
        }
        eprintln!("python: no python3 (3.10 or later) with venv and ensurepip found");
        apt_install(&PYTHON_PACKAGES, Missing::Install, "")?;
        Self::usable().ok_or_else(|| {
            anyhow::anyhow!("python3 still lacks venv or ensurepip after installing {PYTHON_PACKAGES:?}")
        })
    }

    fn usable() -> Option<Self> {
        let path = find_on_path("python3")?;
        (stdout_of(Command::new(&path).args(["-c", PYTHON_CHECK])).as_deref() == Some("ok")).then_some(Self { path })
    }

    /// `cargo <subcommand>` on the package's own workspace, with this interpreter for PyO3's build script.
    pub fn package_cargo(&self, subcommand: &str) -> Command {
        let mut command = process::cargo();
        command
            .current_dir(package_dir())
            .arg(subcommand)
            .env("PYO3_PYTHON", &self.path)
            .env("CARGO_TARGET_DIR", cargo_target_dir());
        command
    }

    /// The virtual environment under `target/` with maturin and pytest (created on first use).
    pub fn venv(&self) -> Result<Venv> {
        let venv = Venv { dir: venv_dir() };
        if !venv.python().is_file() {
            process::run(Command::new(&self.path).args(["-m", "venv"]).arg(&venv.dir))?;
        }
        if stdout_of(venv.python_command().args(["-c", "import maturin, pytest; print('ok')"])).as_deref() != Some("ok")
        {
            process::run(venv.python_command().args(["-m", "pip", "install", "--upgrade"]).args(VENV_REQUIREMENTS))?;
        }
        Ok(venv)
    }
}

/// The package's virtual environment.
#[derive(Debug, Clone)]
pub struct Venv {
    dir: PathBuf,
}

impl Venv {
    fn python(&self) -> PathBuf {
        self.dir.join("bin").join("python")
    }

    /// The environment's Python, with its `bin/` first on PATH as activation would put it (maturin's
    /// build hook runs the `maturin` found there).
    fn python_command(&self) -> Command {
        let bin = self.dir.join("bin");
        let path = env::var_os("PATH").unwrap_or_default();
        let path = env::join_paths(std::iter::once(bin).chain(env::split_paths(&path))).unwrap_or(path);
        let mut command = Command::new(self.python());
        command.current_dir(workspace_root()).env("PATH", path);
        command
    }

    /// Builds the wheel from `python/` as `pip install ./python` does and installs it (over any older
    /// build). Without build isolation: the environment's maturin builds it, with no download.
    pub fn install_package(&self) -> Result<()> {
        let mut install = self.python_command();
        install
            .args(["-m", "pip", "install", "--no-build-isolation", "--force-reinstall", "--no-deps"])
            .arg(package_dir())
            .env("CARGO_TARGET_DIR", cargo_target_dir());
        process::run(&mut install)
    }

    /// Runs the package's pytest tests, comparing with `trainer` (the binary at `trainer`).
    pub fn pytest(&self, trainer: &Path) -> Result<()> {
        let mut pytest = self.python_command();
        pytest
            .args(["-m", "pytest", "-q", "-rs"])
            .arg(package_dir().join("tests"))
            .env("CRF_TRAINER", trainer)
            .env(measure::DATA_DIR_VARIABLE, measure::data_dir());
        process::run(&mut pytest)
    }

    /// `python --version` of the environment's interpreter.
    pub fn version(&self) -> String {
        stdout_of(self.python_command().arg("--version")).unwrap_or_else(|| "Python (version unknown)".to_owned())
    }

    /// Instructions callgrind counts for `python/bench/segment_once.py MODEL INPUT MODE` (`none`,
    /// `segment` or `segment_text`), with a fixed hash seed so that runs repeat to the instruction.
    pub fn count_segment_once(&self, model: &Path, input: &Path, mode: &str, scratch: &Path) -> Result<u64> {
        let mut python = self.python_command();
        python
            .arg(package_dir().join("bench").join("segment_once.py"))
            .arg(model)
            .arg(input)
            .arg(mode)
            .env("PYTHONHASHSEED", "0");
        callgrind_instructions(&python, &scratch.join(format!("callgrind.python.{mode}")))
    }

    /// Runs `python/bench/bench_segment.py` on `input` with `model`.
    pub fn bench(&self, trainer: &Path, model: &Path, input: &Path, runs: u32) -> Result<()> {
        if !input.is_file() {
            bail!("no input file {}", input.display());
        }
        let mut bench = self.python_command();
        bench
            .arg(package_dir().join("bench").join("bench_segment.py"))
            .arg("--trainer")
            .arg(trainer)
            .arg("--model")
            .arg(model)
            .arg("--runs")
            .arg(runs.to_string())
            .arg(input);
        process::run(&mut bench)
    }
}

/// The instructions of `command` (its whole process) under `valgrind --tool=callgrind`, whose profile goes
/// to `profile`; the command's output is discarded.
pub fn callgrind_instructions(command: &Command, profile: &Path) -> Result<u64> {
    let mut valgrind = Command::new("valgrind");
    valgrind
        .arg("--tool=callgrind")
        .arg(format!("--callgrind-out-file={}", profile.display()))
        .arg(command.get_program())
        .args(command.get_args())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    if let Some(dir) = command.get_current_dir() {
        valgrind.current_dir(dir);
    }
    for (key, value) in command.get_envs() {
        match value {
            Some(value) => valgrind.env(key, value),
            None => valgrind.env_remove(key),
        };
    }
    process::run(&mut valgrind)?;
    let text = fs::read_to_string(profile).with_context(|| format!("reading {}", profile.display()))?;
    profile_total(&text).with_context(|| format!("{}: no `summary:` or `totals:` line", profile.display()))
}

/// The total of a callgrind profile: its `summary:` line (or `totals:`), one event (instructions).
pub fn profile_total(profile: &str) -> Option<u64> {
    profile.lines().find_map(|line| {
        let count = line.strip_prefix("summary:").or_else(|| line.strip_prefix("totals:"))?;
        count.split_whitespace().next()?.parse().ok()
    })
}

/// Makes sure `valgrind` is on PATH (installing Debian's package as root when it is missing).
pub fn require_valgrind() -> Result<()> {
    if find_on_path("valgrind").is_none() {
        apt_install(&["valgrind"], Missing::Install, "")?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_profiles_total_is_its_summary_line() {
        assert_eq!(profile_total("events: Ir\nsummary: 229819434\ntotals: 1\n"), Some(229_819_434));
        assert_eq!(profile_total("events: Ir\ntotals: 42\n"), Some(42));
        assert_eq!(profile_total("events: Ir\n"), None);
    }
}
