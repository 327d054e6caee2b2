//! `cargo xtask`: the workspace's single driver. See `cargo xtask --help`.

use std::{
    fs,
    io::Read,
    path::{Path, PathBuf},
    process::{Command, ExitCode},
    time::{Duration, Instant},
};

use anyhow::{bail, Context, Result};
use clap::{Args, Parser, Subcommand};
use xtask::{
    capi,
    firmware::{self, Board, CargoOutput, FirmwareBuild},
    frontier::{self, Budget, CorpusSelection, FrontierOptions},
    measure::{
        self,
        host::Trainer,
        record::{self, MeasurementFile},
        session::{Gold, Provenance, Subject},
        SegmenterRun,
    },
    process,
    python::{self, SystemPython},
    qemu,
    results::python_speed::{PythonSpeed, PYTHON_README, PYTHON_SPEED_JSON},
    toolchain::{ArmGcc, Toolchain, THUMB_TARGETS},
    util::{self, now_utc, shown_path, GitState},
    workspace_root,
};

#[derive(Parser)]
#[command(name = "cargo xtask", about = "Builds, checks and runs everything in this workspace")]
struct Cli {
    #[command(subcommand)]
    command: Task,
}

#[derive(Subcommand)]
enum Task {
    /// Install (as root) or verify the embedded toolchain, QEMU, defmt-print
    /// Python (with venv, for the Python package) and the C cross compiler
    /// (arm-none-eabi-gcc, newlib).
    Setup,
    /// Run every check in order, stopping at the first failure.
    Test,
    /// Build or run the firmware.
    #[command(subcommand)]
    Firmware(FirmwareTask),
    /// Train the unlimited model, then per byte budget a 4-tag and a 6-tag
    /// model distilled from it, score the quantized models on PKU and CTB6
    /// test, and write frontier.md, .json and .svg: F1 against model bytes,
    /// and which models fit which board's flash.
    Frontier(FrontierArgs),
    /// Train and score the models the README quotes, write docs/results.json,
    /// and render docs/results.md and the README's headline table.
    Results(xtask::results::ResultsArgs),
    /// Build and install the Python package (module crf_mcu) into
    /// target/python-venv, then segment one input with it and with `trainer
    /// segment` and print the time ratios (python/bench/bench_segment.py).
    BenchPython(BenchPythonArgs),
    /// The Python package's checks of `cargo xtask test` alone: rustfmt,
    /// clippy, the wheel installed into target/python-venv, pytest.
    TestPython,
    /// Score the default model on PKU test with forced spans off, on, and
    /// with the test's OOV words as user dictionary (docs/user-dict.json);
    /// writes the word lists under target/user-dict/.
    UserDict(xtask::user_dict::UserDictArgs),
}

#[derive(Args)]
struct BenchPythonArgs {
    /// The text to segment (default: the PKU test input under CRF_DATA_DIR,
    /// else the committed sample tests/data/sample.utf8).
    #[arg(long)]
    input: Option<PathBuf>,
    /// The model (default: models/default.crfm).
    #[arg(long)]
    model: Option<PathBuf>,
    /// Runs of each way; the best counts.
    #[arg(long, default_value_t = 10)]
    runs: u32,
    /// Count instructions with callgrind instead of timing (one run of each
    /// way, each less the same process without the segmenting), write
    /// docs/python-speed.json and render python/README.md's speed table.
    #[arg(long)]
    instructions: bool,
}

#[derive(Subcommand)]
enum FirmwareTask {
    /// Build the firmware for a board and print its size.
    Build(ImageArgs),
    /// Build the firmware and run it under QEMU: its UART0 output, byte for
    /// byte, on stdout; the build, its decoded defmt log and QEMU's status on
    /// stderr.
    Run(RunArgs),
    /// Stream text through the firmware's segmenter under `qemu -icount
    /// shift=0`, print instructions per character, peak stack, static RAM and
    /// flash (code and model), compare the output with `trainer segment` and
    /// score it, and record it all in docs/firmware.json (one entry per board
    /// and model). With a token-level model (--model, format version 6): stream
    /// a CoNLL file (default CoNLL-2003 eng.testb) through the token labeler on
    /// lm3s6965evb and mps2-an386, print instructions per token, compare the
    /// answers with the tag column of `trainer label`, and record them in
    /// docs/firmware.json's token_measurements.
    Measure(MeasureArgs),
    /// Build the C API's example firmware (capi/examples/firmware-c, on the
    /// lm3s6965evb) and the Rust firmware, stream the same text through both
    /// under `qemu -icount shift=0`, check that both answer byte for byte
    /// like `trainer segment`, and print their flash, RAM and instructions
    /// per character side by side.
    CCompare(CCompareArgs),
    /// Find the highest standard baud rate (9600 ... 921600) at which the
    /// board's line-rate build (a timer delivers one input byte per byte
    /// period at the board's core clock) takes the whole PKU test input with
    /// no byte lost and output identical to the host, run the rate above it
    /// to show the loss counted, and record both in docs/firmware.json.
    LineRate(LineRateArgs),
}

#[derive(Args)]
struct LineRateArgs {
    /// The board.
    #[arg(long, value_enum, default_value = "lm3s6965evb")]
    board: Board,
    /// The rate to check first (default 115200); the search moves up or
    /// down from it.
    #[arg(long)]
    baud: Option<u32>,
    /// The model file to embed (default: models/default.crfm).
    #[arg(long, env = firmware::MODEL_VARIABLE)]
    model: Option<PathBuf>,
    /// Kill QEMU (and fail) after this many seconds, per run.
    #[arg(long, default_value_t = 900)]
    timeout: u64,
}

#[derive(Args)]
struct CCompareArgs {
    /// The model file to embed in both (default: models/default.crfm).
    #[arg(long, env = firmware::MODEL_VARIABLE)]
    model: Option<PathBuf>,
    /// The text to segment (default: the whole PKU test input under
    /// CRF_DATA_DIR, else the committed sample tests/data/sample.utf8).
    #[arg(long)]
    input: Option<PathBuf>,
    /// Kill QEMU (and fail) after this many seconds, per firmware.
    #[arg(long, default_value_t = 600)]
    timeout: u64,
}

#[derive(Args)]
struct ImageArgs {
    /// The board to build for.
    #[arg(long, value_enum, default_value = "lm3s6965evb")]
    board: Board,
    /// Extra firmware features, e.g. selftest-echo (comma separated).
    #[arg(long, value_delimiter = ',')]
    features: Vec<String>,
    /// The model file to embed (default: models/default.crfm).
    #[arg(long, env = firmware::MODEL_VARIABLE)]
    model: Option<PathBuf>,
}

#[derive(Args)]
struct RunArgs {
    #[command(flatten)]
    image: ImageArgs,
    /// Kill QEMU (and fail) after this many seconds.
    #[arg(long, default_value_t = 60)]
    timeout: u64,
    /// Count instructions: `-icount shift=0`.
    #[arg(long)]
    icount: bool,
    /// A file whose bytes are sent to UART0 (`-` for stdin), followed by EOT
    /// (0x04, which ends the firmware's input) unless it contains one.
    #[arg(long)]
    uart_input: Option<PathBuf>,
}

#[derive(Args)]
struct MeasureArgs {
    /// The board to measure (default: every board).
    #[arg(long, value_enum)]
    board: Option<Board>,
    /// The model file to embed (default: models/default.crfm).
    #[arg(long, env = firmware::MODEL_VARIABLE)]
    model: Option<PathBuf>,
    /// The text to segment (default: the PKU test input under CRF_DATA_DIR,
    /// else the committed sample tests/data/sample.utf8).
    #[arg(long)]
    input: Option<PathBuf>,
    /// The gold segmentation of the input, to score the firmware's output
    /// (default: for the PKU test input, icwb2/pku_test_gold.utf8).
    #[arg(long, value_name = "FILE")]
    gold: Option<PathBuf>,
    /// The word list that defines OOV words for --gold (default: for the
    /// PKU test input, icwb2/pku_training_words.utf8).
    #[arg(long, value_name = "FILE")]
    words: Option<PathBuf>,
    /// The measurement file to update (default: docs/firmware.json).
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
    /// Kill QEMU (and fail) after this many seconds.
    #[arg(long, default_value_t = 600)]
    timeout: u64,
    /// A word list to embed as user dictionary; the host's `trainer segment`
    /// uses it too.
    #[arg(long, value_name = "FILE")]
    user_dict: Option<PathBuf>,
}

#[derive(Args)]
struct FrontierArgs {
    /// The byte budgets (comma separated; K and M are binary, `unlimited`:
    /// no budget). The unlimited model runs either way: it is the teacher.
    #[arg(long, value_name = "LIST", value_delimiter = ',', value_parser = parse_budget,
          default_value = frontier::DEFAULT_BUDGET_LIST)]
    budgets: Vec<Budget>,
    /// The corpora to train and test on.
    #[arg(long, value_enum, default_value = "all")]
    corpus: CorpusSelection,
    /// The corpora (default: CRF_DATA_DIR, else ../shared/data next to the
    /// workspace).
    #[arg(long, value_name = "DIR")]
    data: Option<PathBuf>,
    /// Where frontier.md, frontier.json and frontier.svg go (default: docs/,
    /// or target/frontier/ with --quick).
    #[arg(long, value_name = "DIR")]
    out_dir: Option<PathBuf>,
    /// Firmware flash other than the model, for the board-fit columns.
    /// Default: measured by building the lm3s6965evb firmware with
    /// models/default.crfm (the "code" of "flash: code + model").
    #[arg(long, value_name = "BYTES")]
    code_bytes: Option<u64>,
    /// Smoke test: train (and distill) on the first 2000 sentences of each
    /// training file for one epoch (numbers not comparable); writes into target/frontier/ unless --out-dir says
    /// otherwise.
    #[arg(long)]
    quick: bool,
    /// Train nothing: write frontier.md, .json and .svg again from the
    /// frontier.json in the output directory, with the decode costs now in
    /// docs/firmware.json.
    #[arg(long, conflicts_with_all = ["budgets", "corpus", "data", "code_bytes"])]
    rerender: bool,
}

fn parse_budget(text: &str) -> Result<Budget> {
    text.parse()
}

/// The firmware feature of the defmt logger for real hardware (RTT).
const HARDWARE_LOGGER_FEATURE: &str = "logger-rtt";

/// Every firmware run during `cargo xtask test` gets this long.
const CHECK_RUN_TIMEOUT: Duration = Duration::from_secs(30);

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Task::Setup => setup(),
        Task::Test => test_everything(),
        Task::Firmware(FirmwareTask::Build(args)) => firmware_build(&args),
        Task::Firmware(FirmwareTask::Run(args)) => firmware_run(&args),
        Task::Firmware(FirmwareTask::Measure(args)) => firmware_measure(&args),
        Task::Firmware(FirmwareTask::CCompare(args)) => firmware_c_compare(&args),
        Task::Firmware(FirmwareTask::LineRate(args)) => {
            xtask::line_rate::measure_and_record(&xtask::line_rate::LineRateRequest {
                board: args.board,
                start_baud: args.baud,
                model: args.model,
                timeout: Duration::from_secs(args.timeout),
                command_line: command_line(),
            })
            .map(drop)
        }
        Task::Frontier(args) => measure_frontier(&args),
        Task::Results(args) => xtask::results::command(&args),
        Task::BenchPython(args) => bench_python(&args),
        Task::TestPython => test_python(),
        Task::UserDict(args) => xtask::user_dict::command(&args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("\nerror: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn setup() -> Result<()> {
    Toolchain::setup()?;
    SystemPython::setup()?;
    ArmGcc::setup()?;
    println!("setup: everything is in place");
    Ok(())
}

/// Runs the steps in order, each under a header with its duration.
struct Steps {
    started: Instant,
    count: usize,
}

impl Steps {
    fn new() -> Self {
        Self { started: Instant::now(), count: 0 }
    }

    fn run<T>(&mut self, title: &str, step: impl FnOnce() -> Result<T>) -> Result<T> {
        self.count += 1;
        println!("\n==> [{}] {title}", self.count);
        let started = Instant::now();
        let result = step();
        let seconds = started.elapsed().as_secs_f64();
        match &result {
            Ok(_) => println!("<== [{}] {title}: ok ({seconds:.1}s)", self.count),
            Err(_) => println!("<== [{}] {title}: FAILED ({seconds:.1}s)", self.count),
        }
        result.with_context(|| format!("step {} `{title}` failed", self.count))
    }
}

fn test_everything() -> Result<()> {
    let mut steps = Steps::new();
    let root = workspace_root();
    let toolchain = steps.run("setup: toolchain, QEMU, defmt-print", Toolchain::setup)?;
    let system_python = steps.run("setup: python3 with venv", SystemPython::setup)?;
    let arm_gcc = steps.run("setup: arm-none-eabi-gcc and newlib (the C API's example firmware)", ArmGcc::setup)?;

    steps.run("cargo fmt --all --check (workspace)", || {
        process::run(process::cargo().current_dir(&root).args(["fmt", "--all", "--check"]))
    })?;
    steps.run("cargo fmt --all --check (firmware)", || process::run(&mut firmware::fmt_check_command()))?;
    steps.run("cargo fmt --check (python package)", || {
        process::run(system_python.package_cargo("fmt").arg("--check"))
    })?;
    steps.run("cargo clippy --workspace --all-targets -- -D warnings", || {
        process::run(process::cargo().current_dir(&root).args([
            "clippy",
            "--workspace",
            "--all-targets",
            "--",
            "-D",
            "warnings",
        ]))
    })?;
    steps.run("cargo clippy -D warnings (python package)", || {
        process::run(system_python.package_cargo("clippy").args(["--all-targets", "--", "-D", "warnings"]))
    })?;
    // `ci-test`: release speed with overflow checks on (see the root Cargo.toml).
    steps.run("cargo test --workspace --profile ci-test (host tests, QEMU tests)", || {
        process::run(process::cargo().current_dir(&root).args(["test", "--workspace", "--profile", "ci-test"]))
    })?;
    // The workspace build unifies the trainer's `wide-tags` into the decoder: its build without the feature
    // (the firmware's and the C API's) is tested on its own, for the refusal of a model above 16 tags.
    steps.run("cargo test -p decoder --test wide_tags --profile ci-test (the decoder without wide-tags)", || {
        process::run(process::cargo().current_dir(&root).args([
            "test",
            "-p",
            "decoder",
            "--test",
            "wide_tags",
            "--profile",
            "ci-test",
        ]))
    })?;
    steps.run("python package: wheel installed into target/python-venv, pytest", || {
        let venv = system_python.venv()?;
        venv.install_package()?;
        venv.pytest(&python::ci_test_trainer()?)
    })?;
    for target in THUMB_TARGETS {
        steps.run(&format!("cargo check -p decoder --target {target}"), || {
            let mut command = toolchain.thumb_cargo("check", target);
            // Its own target directory: another compiler (build-std path)
            // must not invalidate the host builds' artifacts.
            command.current_dir(&root).args(["-p", "decoder", "--target-dir"]).arg(root.join("target/thumb"));
            process::run(&mut command)
        })?;
    }
    for target in THUMB_TARGETS {
        steps.run(&format!("C API static library (capi/) for {target}, and its clippy -D warnings"), || {
            let library = capi::build_library(&toolchain, target, CargoOutput::Show)?;
            println!("{}", library.display());
            capi::clippy_library(&toolchain, target)
        })?;
    }
    // The QEMU images of every board, and the real-hardware logger (RTT).
    let hardware_image = FirmwareBuild::with_features(Board::Lm3s6965evb, &[HARDWARE_LOGGER_FEATURE]);
    for image in Board::ALL.map(FirmwareBuild::new).iter().chain([&hardware_image]) {
        steps.run(&format!("firmware clippy -D warnings ({})", image.image_name()), || {
            firmware::clippy(&toolchain, image)
        })?;
    }
    let mut images = Vec::new();
    for board in Board::ALL {
        let elf = steps.run(&format!("firmware build ({board})"), || {
            build_and_measure(&toolchain, &FirmwareBuild::new(board), CargoOutput::Show)
        })?;
        images.push((board, elf));
    }
    steps.run(&format!("firmware build ({})", hardware_image.image_name()), || {
        build_and_measure(&toolchain, &hardware_image, CargoOutput::Show)
    })?;
    let rust_outputs = steps.run("firmware segments the sample text under QEMU (figures per board)", || {
        let input_path = measure::sample_input();
        let input = fs::read(&input_path).with_context(|| format!("reading {}", input_path.display()))?;
        let mut failures = Vec::new();
        let mut outputs = Vec::new();
        for (board, elf) in &images {
            let run = measure::run_segmenter(&toolchain, *board, elf, &input, CHECK_RUN_TIMEOUT)?;
            print_measurement(*board, &run, input.len());
            if !run.outcome.success() {
                failures.push(format!("{board}: {}", run.outcome.report()));
            }
            outputs.push((*board, run.outcome.uart_output));
        }
        if !failures.is_empty() {
            bail!("firmware failed under QEMU:\n{}", failures.join("\n"));
        }
        Ok(outputs)
    })?;
    steps.run("C firmware (capi/examples/firmware-c) segments the sample under QEMU like the Rust firmware", || {
        let elf = capi::build_library_and_firmware(&toolchain, &arm_gcc, None, CargoOutput::Show)?;
        println!("{}: {}", elf.display(), firmware::memory_use(&elf)?);
        let input = fs::read(measure::sample_input())?;
        let run = capi::run_segmenter(&toolchain, &elf, &input, CHECK_RUN_TIMEOUT)?;
        print_measurement(capi::C_FIRMWARE_BOARD, &run, input.len());
        if !run.outcome.success() || run.figures.is_none() {
            bail!("the C firmware failed under QEMU:\n{}", run.outcome.report());
        }
        let rust_output = rust_outputs
            .iter()
            .find(|(board, _)| *board == capi::C_FIRMWARE_BOARD)
            .map(|(_, output)| output)
            .context("no Rust firmware run on the C firmware's board")?;
        if &run.outcome.uart_output != rust_output {
            bail!(
                "the C firmware's UART0 output ({} bytes) differs from the Rust firmware's ({} bytes)",
                run.outcome.uart_output.len(),
                rust_output.len()
            );
        }
        println!("C firmware: {} output bytes, identical to the Rust firmware's", rust_output.len());
        Ok(())
    })?;
    println!("\nall {} steps passed in {:.1}s", steps.count, steps.started.elapsed().as_secs_f64());
    Ok(())
}

/// Builds an image and prints its size.
fn build_and_measure(toolchain: &Toolchain, image: &FirmwareBuild, output: CargoOutput) -> Result<PathBuf> {
    let elf = firmware::build(toolchain, image, output)?;
    let usage = firmware::memory_use(&elf)?;
    println!("{}: {usage}", elf.display());
    Ok(elf)
}

fn image(args: &ImageArgs) -> FirmwareBuild {
    FirmwareBuild {
        board: args.board,
        features: args.features.clone(),
        model: args.model.clone(),
        user_dict: None,
        baud: None,
        line_input: None,
    }
}

fn firmware_build(args: &ImageArgs) -> Result<()> {
    let toolchain = Toolchain::setup()?;
    build_and_measure(&toolchain, &image(args), CargoOutput::Show)?;
    Ok(())
}

fn firmware_run(args: &RunArgs) -> Result<()> {
    let toolchain = Toolchain::setup()?;
    let mut uart_input = match &args.uart_input {
        None => Vec::new(),
        Some(path) if path.as_os_str() == "-" => {
            let mut bytes = Vec::new();
            std::io::stdin().read_to_end(&mut bytes).context("reading stdin")?;
            bytes
        }
        Some(path) => fs::read(path).with_context(|| format!("reading {}", path.display()))?,
    };
    if !uart_input.contains(&measure::EOT) {
        uart_input.push(measure::EOT);
    }
    let board = args.image.board;
    // Everything but the firmware's UART0 output goes to stderr.
    let elf = firmware::build(&toolchain, &image(&args.image), CargoOutput::Show)?;
    eprintln!("{}: {}", elf.display(), firmware::memory_use(&elf)?);
    let options = qemu::RunOptions {
        timeout: Duration::from_secs(args.timeout),
        icount: args.icount,
        uart_input,
        ..qemu::RunOptions::default()
    };
    let outcome = qemu::run(&toolchain, board, &elf, &options)?;
    let status =
        format!("qemu: {} on {board}: {} in {:.2}s", board.core(), outcome.exit, outcome.elapsed.as_secs_f64());
    outcome
        .write_split(&status, &mut std::io::stdout().lock(), &mut std::io::stderr().lock())
        .context("writing the firmware's output")?;
    if !outcome.success() {
        bail!("the firmware failed: {}\n{}", outcome.exit, outcome.qemu_stderr);
    }
    Ok(())
}

fn firmware_measure(args: &MeasureArgs) -> Result<()> {
    if let Some(model) = args.model.as_deref().filter(|model| firmware::model_is_token_level(model)) {
        return firmware_measure_tokens(args, model);
    }
    let toolchain = Toolchain::setup()?;
    let input_path = match &args.input {
        Some(path) => path.clone(),
        None => match measure::pku_test_input() {
            Some(path) => path,
            None => {
                println!(
                    "measure: no PKU test input under {} (set {}); using the committed sample",
                    measure::data_dir().display(),
                    measure::DATA_DIR_VARIABLE
                );
                measure::sample_input()
            }
        },
    };
    let input = fs::read(&input_path).with_context(|| format!("reading {}", input_path.display()))?;
    println!("measure: input {} ({} bytes)", input_path.display(), input.len());
    let model = args.model.clone().unwrap_or_else(firmware::default_model);
    // `trainer segment`, the host side, reads it (the image gets it below).
    match &args.user_dict {
        Some(list) => std::env::set_var(firmware::USER_DICT_VARIABLE, std::path::absolute(list)?),
        None => std::env::remove_var(firmware::USER_DICT_VARIABLE),
    }
    let trainer = Trainer::build()?;
    let gold = Gold::for_input(&input_path, args.gold.clone(), args.words.clone());
    let subject = Subject::prepare(&trainer, &model, &input_path, &input, gold)?;
    let provenance =
        Provenance { git: GitState::of_workspace(), generated: util::now_utc()?, command_line: command_line() };
    let record_path = args.out.clone().unwrap_or_else(record::measurements_path);
    // Read first: a broken file fails before the long runs, not after.
    MeasurementFile::load(&record_path)?;
    let mut entries = Vec::new();
    let boards = match args.board {
        Some(board) => vec![board],
        None => Board::ALL.to_vec(),
    };
    let mut failures = Vec::new();
    for board in boards {
        let mut image = FirmwareBuild::new(board);
        image.model = Some(model.clone());
        image.user_dict = args.user_dict.clone();
        let elf = build_and_measure(&toolchain, &image, CargoOutput::Show)?;
        let run = measure::run_segmenter(&toolchain, board, &elf, &input, Duration::from_secs(args.timeout))?;
        print_measurement(board, &run, input.len());
        if !run.outcome.success() || run.figures.is_none() {
            failures.push(format!("{board}: {}", run.outcome.report()));
            continue;
        }
        let scratch = workspace_root().join("target").join("firmware-measure");
        let mut entry = subject.measurement(&trainer, board, &run, &scratch, &provenance)?;
        if let Some(list) = &args.user_dict {
            entry.user_dict = Some(measure::session::shown_model_path(list));
            entry.user_dict_sha256 = Some(measure::host::sha256_of(list)?);
        }
        let scores = entry.f1.map_or_else(
            || "no gold file".to_owned(),
            |f1| {
                format!(
                    "F1 {:.2}%, OOV-R {}",
                    100.0 * f1,
                    entry.oov_recall.map_or("—".to_owned(), |r| format!("{:.2}%", 100.0 * r))
                )
            },
        );
        println!(
            "{board}: {}; {scores}",
            if entry.identical_to_host { "identical to the host" } else { "DIFFERS from the host" }
        );
        if !entry.identical_to_host {
            failures.push(format!("{board}: the UART0 output differs from `trainer segment` of the same input"));
        }
        entries.push(entry);
    }
    save_measurements(&record_path, args.out.is_none(), &failures, |record| {
        for entry in entries {
            record.insert(entry);
        }
        record.command = command_line();
    })
}

/// Adds what was measured (`add`) to the record at `path` as it is now (read again: another measurement
/// may have saved its entries there during the long runs), writes it, renders docs/results.md and the
/// README's blocks when `path` is the committed record (`render`), and fails with every entry of
/// `failures`, after saving what was measured.
fn save_measurements(
    path: &Path,
    render: bool,
    failures: &[String],
    add: impl FnOnce(&mut MeasurementFile),
) -> Result<()> {
    let mut record = MeasurementFile::load(path)?;
    add(&mut record);
    record.save(path)?;
    println!("measure: wrote {}", path.display());
    if render {
        xtask::results::render_all(&workspace_root())?;
    }
    if !failures.is_empty() {
        bail!("the measurement failed:\n{}", failures.join("\n"));
    }
    Ok(())
}

/// The boards a token-level model is measured on by default: the smallest that holds the labeler
/// (Cortex-M3, 64 KiB RAM) and a Cortex-M4.
const TOKEN_BOARDS: [Board; 2] = [Board::Lm3s6965evb, Board::Mps2An386];

/// `firmware measure` with a token-level model: streams a CoNLL file (default: CoNLL-2003's eng.testb)
/// through the firmware's token labeler, compares its answers with the tag column of `trainer label`,
/// and records instructions per token, stack, RAM and flash in docs/firmware.json (`token_measurements`).
fn firmware_measure_tokens(args: &MeasureArgs, model: &std::path::Path) -> Result<()> {
    use xtask::measure::tokens::{self, TokenFigures, TokenMeasurement};
    if args.user_dict.is_some() || args.gold.is_some() || args.words.is_some() {
        bail!("--user-dict, --gold and --words are for word segmentation; {} is a token-level model", model.display());
    }
    let toolchain = Toolchain::setup()?;
    let input_path = match &args.input {
        Some(path) => path.clone(),
        None => tokens::conll2003_test().with_context(|| {
            format!(
                "no conll2003/eng.testb under {} (set {}): give --input FILE, a CoNLL file",
                measure::data_dir().display(),
                measure::DATA_DIR_VARIABLE
            )
        })?,
    };
    let input = fs::read(&input_path).with_context(|| format!("reading {}", input_path.display()))?;
    println!("measure: token-level model {}, input {} ({} bytes)", model.display(), input_path.display(), input.len());
    let trainer = Trainer::build()?;
    let expected = tokens::tag_column(&trainer.label(model, &input_path)?);
    // Only a file with gold tags has an F1.
    let f1 = trainer.entity_f1(model, &input_path).ok();
    let provenance =
        Provenance { git: GitState::of_workspace(), generated: util::now_utc()?, command_line: command_line() };
    let record_path = args.out.clone().unwrap_or_else(record::measurements_path);
    MeasurementFile::load(&record_path)?;
    let mut entries = Vec::new();
    let boards = match args.board {
        Some(board) => vec![board],
        None => TOKEN_BOARDS.to_vec(),
    };
    let data_dir = fs::canonicalize(measure::data_dir()).unwrap_or_else(|_| measure::data_dir());
    let mut failures = Vec::new();
    for board in boards {
        let image = FirmwareBuild::new(board).with_model(model);
        let elf = build_and_measure(&toolchain, &image, CargoOutput::Show)?;
        let run = measure::run_segmenter(&toolchain, board, &elf, &input, Duration::from_secs(args.timeout))?;
        for line in run.outcome.defmt_log.lines() {
            println!("    {line}");
        }
        let figures = match TokenFigures::from_log(&run.outcome.defmt_log) {
            Ok(figures) if run.outcome.success() => figures,
            _ => {
                failures.push(format!("{board}: {}", run.outcome.report()));
                continue;
            }
        };
        let identical = run.outcome.uart_output == expected;
        println!(
            "{board} ({}): {figures}\n{board}: {}; QEMU {:.1}s; host entity F1 {}",
            board.core(),
            if identical { "identical to `trainer label`" } else { "DIFFERS from `trainer label`" },
            run.outcome.elapsed.as_secs_f64(),
            f1.map_or("—".to_owned(), |f1| format!("{f1:.2}"))
        );
        if !identical {
            failures.push(format!("{board}: the UART0 output differs from the tag column of `trainer label`"));
        }
        let input_shown = fs::canonicalize(&input_path).unwrap_or_else(|_| input_path.clone());
        entries.push(TokenMeasurement {
            board: board.name().to_owned(),
            core: board.core().to_owned(),
            model: measure::session::shown_model_path(model),
            model_sha256: measure::host::sha256_of(model)?,
            model_bytes: fs::metadata(model)?.len(),
            input: util::shown_path(&input_shown, &data_dir),
            input_bytes: figures.bytes_in,
            lines: figures.lines,
            tokens: figures.tokens,
            sentences: figures.sentences,
            instructions_per_token: figures.instructions_per_token,
            peak_stack_bytes: figures.peak_stack,
            static_ram_bytes: figures.static_ram,
            ram_in_use_bytes: figures.ram_in_use,
            code_bytes: figures.flash_code,
            flash_used_bytes: figures.flash,
            identical_to_host: identical,
            f1,
            commit: provenance.git.commit.clone().unwrap_or_else(|| "unknown".to_owned()),
            dirty: provenance.git.dirty,
            generated: provenance.generated.clone(),
            measured_by: provenance.command_line.clone(),
        });
    }
    // `command` stays the segmentation runs' (docs/results.md quotes it for their table); each token entry
    // carries its own.
    save_measurements(&record_path, args.out.is_none(), &failures, |record| {
        for entry in entries {
            record.insert_token_measurement(entry);
        }
    })
}

fn test_python() -> Result<()> {
    let system_python = SystemPython::setup()?;
    process::run(system_python.package_cargo("fmt").arg("--check"))?;
    process::run(system_python.package_cargo("clippy").args(["--all-targets", "--", "-D", "warnings"]))?;
    let venv = system_python.venv()?;
    venv.install_package()?;
    venv.pytest(&python::ci_test_trainer()?)
}

fn bench_python(args: &BenchPythonArgs) -> Result<()> {
    let venv = SystemPython::setup()?.venv()?;
    venv.install_package()?;
    let trainer = Trainer::build()?;
    let input = match &args.input {
        Some(path) => path.clone(),
        None => measure::pku_test_input().unwrap_or_else(|| {
            println!(
                "bench-python: no PKU test input under {}; using the committed sample",
                measure::data_dir().display()
            );
            measure::sample_input()
        }),
    };
    let model = args.model.clone().unwrap_or_else(firmware::default_model);
    if args.instructions {
        count_python_instructions(&venv, trainer.binary(), &model, &input)
    } else {
        venv.bench(trainer.binary(), &model, &input, args.runs)
    }
}

/// `bench-python --instructions`: callgrind's counts of `trainer segment` and of the package's
/// `segment` and `segment_text` on `input`, into docs/python-speed.json and python/README.md.
fn count_python_instructions(venv: &python::Venv, trainer: &Path, model: &Path, input: &Path) -> Result<()> {
    python::require_valgrind()?;
    let root = workspace_root();
    let git = GitState::of_workspace_ignoring(&[PYTHON_SPEED_JSON, PYTHON_README]);
    let scratch = root.join("target").join("bench-python");
    fs::create_dir_all(&scratch).with_context(|| format!("creating {}", scratch.display()))?;
    let empty = scratch.join("empty.txt");
    fs::write(&empty, b"").with_context(|| format!("writing {}", empty.display()))?;
    let trainer_count = |text: &Path, name: &str| {
        let mut segment = Command::new(trainer);
        segment.arg("segment").arg("--model").arg(model).arg(text);
        python::callgrind_instructions(&segment, &scratch.join(format!("callgrind.trainer.{name}")))
    };
    let trainer_instructions = trainer_count(input, "input")?;
    let trainer_empty_instructions = trainer_count(&empty, "empty")?;
    let python_count = |mode: &str| venv.count_segment_once(model, input, mode, &scratch);
    let data_dir = measure::data_dir();
    let speed = PythonSpeed {
        command: "cargo xtask bench-python --instructions".to_owned(),
        commit: git.commit.clone().unwrap_or_else(|| "unknown".to_owned()),
        dirty: git.dirty,
        generated: now_utc()?,
        model: shown_path(model, &data_dir),
        input: shown_path(input, &data_dir),
        input_bytes: fs::metadata(input).with_context(|| format!("reading {}", input.display()))?.len(),
        python: venv.version(),
        trainer_instructions,
        trainer_empty_instructions,
        python_none_instructions: python_count("none")?,
        segment_instructions: python_count("segment")?,
        segment_lines_instructions: python_count("segment_lines")?,
        segment_text_instructions: python_count("segment_text")?,
    };
    println!(
        "bench-python: net instructions: trainer segment {}, Model.segment {} ({:.3}x), per line {:.3}x, \
         Model.segment_text {:.3}x",
        speed.trainer_net(),
        speed.segment_instructions.saturating_sub(speed.python_none_instructions),
        speed.segment_ratio(),
        speed.segment_lines_ratio(),
        speed.segment_text_ratio()
    );
    let path = root.join(PYTHON_SPEED_JSON);
    fs::write(&path, serde_json::to_string_pretty(&speed)? + "\n")
        .with_context(|| format!("writing {}", path.display()))?;
    println!("bench-python: wrote {}", path.display());
    xtask::results::render_results(&root)
}

fn firmware_c_compare(args: &CCompareArgs) -> Result<()> {
    let toolchain = Toolchain::setup()?;
    let arm_gcc = ArmGcc::setup()?;
    let input_path = match &args.input {
        Some(path) => path.clone(),
        None => measure::pku_test_input().unwrap_or_else(|| {
            println!(
                "c-compare: no PKU test input under {}; using the committed sample",
                measure::data_dir().display()
            );
            measure::sample_input()
        }),
    };
    let input = fs::read(&input_path).with_context(|| format!("reading {}", input_path.display()))?;
    let model = args.model.clone().unwrap_or_else(firmware::default_model);
    println!("c-compare: input {} ({} bytes), model {}", input_path.display(), input.len(), model.display());
    let host_output = Trainer::build()?.segment(&model, &input_path)?;
    let timeout = Duration::from_secs(args.timeout);
    let board = capi::C_FIRMWARE_BOARD;

    let rust_elf = build_and_measure(&toolchain, &FirmwareBuild::new(board).with_model(&model), CargoOutput::Show)?;
    let c_elf = capi::build_library_and_firmware(&toolchain, &arm_gcc, Some(&model), CargoOutput::Show)?;
    let c_memory = firmware::memory_use(&c_elf)?;
    println!("{}: {c_memory}", c_elf.display());

    let rust_run = measure::run_segmenter(&toolchain, board, &rust_elf, &input, timeout)?;
    let c_run = capi::run_segmenter(&toolchain, &c_elf, &input, timeout)?;
    for (name, run) in [("Rust firmware", &rust_run), ("C firmware", &c_run)] {
        println!("{name}:");
        print_measurement(board, run, input.len());
    }
    let mut failures = Vec::new();
    for (name, run) in [("Rust firmware", &rust_run), ("C firmware", &c_run)] {
        if !run.outcome.success() || run.figures.is_none() {
            failures.push(format!("{name}: {}", run.outcome.report()));
        } else if run.outcome.uart_output != host_output {
            failures.push(format!("{name}: its UART0 output differs from `trainer segment` of the same input"));
        }
    }
    if let (Some(rust), Some(c)) = (rust_run.figures, c_run.figures) {
        let row = |what: &str, rust: String, c: String| println!("| {what} | {rust} | {c} |");
        println!("\nc-compare on {board} ({}), {} characters:\n", board.core(), c.characters);
        println!("| | Rust firmware | C firmware (C API) |");
        println!("|---|---|---|");
        row("flash, bytes", rust.flash.to_string(), c.flash.to_string());
        row("flash without the model, bytes", rust.flash_code.to_string(), c.flash_code.to_string());
        row("model, bytes", rust.flash_model.to_string(), c.flash_model.to_string());
        row("static RAM, bytes", rust.static_ram.to_string(), c.static_ram.to_string());
        row("peak stack, bytes", rust.peak_stack.to_string(), c.peak_stack.to_string());
        row("RAM in use (static + peak stack), bytes", rust.ram_in_use.to_string(), c.ram_in_use.to_string());
        row(
            "instructions per character",
            format!("{:.1}", rust.instructions_per_char),
            format!("{:.1}", c.instructions_per_char),
        );
        row("output bytes", rust.bytes_out.to_string(), c.bytes_out.to_string());
        row("forced cuts", rust.forced_cuts.to_string(), c.forced_cuts.to_string());
        row(
            "QEMU wall time, s",
            format!("{:.1}", rust_run.outcome.elapsed.as_secs_f64()),
            format!("{:.1}", c_run.outcome.elapsed.as_secs_f64()),
        );
        println!();
    }
    let panic_symbols = capi::panic_symbols(&c_elf)?;
    println!(
        "C firmware: {} symbols of the panic machinery kept by the link ({})",
        panic_symbols.len(),
        if panic_symbols.is_empty() { "none".to_owned() } else { panic_symbols.join(", ") }
    );
    if failures.is_empty() {
        println!("c-compare: the C and the Rust firmware both answer byte for byte like `trainer segment`");
        Ok(())
    } else {
        bail!("c-compare failed:\n{}", failures.join("\n"))
    }
}

/// The command as typed, minus the binary's path: `cargo xtask firmware measure`.
fn command_line() -> String {
    format!("cargo xtask {}", std::env::args().skip(1).collect::<Vec<_>>().join(" "))
}

/// Prints one board's figures, the run's wall-clock time and its log.
fn print_measurement(board: Board, run: &SegmenterRun, input_bytes: usize) {
    for line in run.outcome.defmt_log.lines() {
        println!("    {line}");
    }
    let elapsed = run.outcome.elapsed.as_secs_f64();
    match &run.figures {
        Some(figures) => {
            println!("{board} ({}): {figures}", board.core());
            println!(
                "{board}: {} bytes in ({} characters), {} bytes out (UART0 gave {}), {} forced cuts; \
                 QEMU {} in {elapsed:.2}s ({:.0} KB/s)",
                figures.bytes_in,
                figures.characters,
                figures.bytes_out,
                run.outcome.uart_output.len(),
                figures.forced_cuts,
                run.outcome.exit,
                run.throughput(input_bytes) / 1000.0
            );
        }
        None => println!("{board} ({}): no figures; QEMU {} in {elapsed:.2}s", board.core(), run.outcome.exit),
    }
}

fn measure_frontier(args: &FrontierArgs) -> Result<()> {
    let out_dir = args.out_dir.clone().unwrap_or_else(|| frontier::default_out_dir(args.quick));
    // The docs/ frontier feeds docs/results.md and the README's headline table.
    let render_results = out_dir == frontier::default_out_dir(false);
    if args.rerender {
        frontier::rerender(&out_dir)?;
    } else {
        measure_frontier_anew(args, out_dir)?;
    }
    if render_results {
        // The frontier's own outputs are written already.
        xtask::results::render_results(&workspace_root())?;
    }
    Ok(())
}

fn measure_frontier_anew(args: &FrontierArgs, out_dir: PathBuf) -> Result<()> {
    let code_bytes = match args.code_bytes {
        Some(bytes) => bytes,
        None => {
            // The mps2-an386 image's code is a few hundred bytes smaller: the
            // Cortex-M3 figure errs on the safe side for both boards.
            let toolchain = Toolchain::setup()?;
            let elf = firmware::build(&toolchain, &FirmwareBuild::new(Board::Lm3s6965evb), CargoOutput::OnFailure)?;
            let code = firmware::memory_use(&elf)?.code();
            println!("frontier: firmware code (lm3s6965evb, without the model): {code} bytes");
            code
        }
    };
    let options = FrontierOptions {
        data_dir: args.data.clone().unwrap_or_else(measure::data_dir),
        budgets: args.budgets.clone(),
        corpora: args.corpus.corpora(),
        out_dir,
        code_bytes,
        quick: args.quick,
        command_line: command_line(),
    };
    frontier::run(&options)?;
    Ok(())
}
