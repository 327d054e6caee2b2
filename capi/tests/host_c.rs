//! The host C example (examples/host-c/crf_segment.c), compiled with the system's C compiler against
//! the header and the host static library, segments and labels exactly like the Rust decoder: on the
//! committed sample, and on the whole PKU test input when the corpora are present.
//!
//! Skipped, with a message, when there is no C compiler (`CC`, else `cc`).

use std::{
    env,
    ffi::OsString,
    fs,
    io::Write,
    path::{Path, PathBuf},
    process::{Command, Stdio},
    sync::OnceLock,
};

use decoder::{Event, Model, Segmenter, StreamLabeler, DEFAULT_WINDOW};

fn crate_dir() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn workspace_root() -> &'static Path {
    crate_dir().parent().expect("capi/ is inside the workspace")
}

fn default_model() -> PathBuf {
    workspace_root().join("models").join("default.crfm")
}

/// The C compiler: `CC`, else `cc`, if it runs.
fn c_compiler() -> Option<OsString> {
    let compiler = env::var_os("CC").filter(|cc| !cc.is_empty()).unwrap_or_else(|| "cc".into());
    let runs = Command::new(&compiler).arg("--version").stdout(Stdio::null()).stderr(Stdio::null()).status();
    runs.is_ok_and(|status| status.success()).then_some(compiler)
}

/// Builds the host static library with the profile of this test binary and returns its path.
fn static_library() -> PathBuf {
    // This binary is <target dir>/<profile dir>/deps/<name>; "debug" is the dev profile's directory.
    let exe = env::current_exe().expect("the test binary's path");
    let profile_dir = exe.parent().and_then(Path::parent).expect("target/<profile>/deps/<test>");
    let target_dir = profile_dir.parent().expect("target/<profile>");
    let profile = match profile_dir.file_name().and_then(|name| name.to_str()) {
        Some("debug") | None => "dev",
        Some(name) => name,
    };
    let cargo = env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let output = Command::new(cargo)
        .args(["build", "--quiet", "-p", "crf-mcu-c", "--lib", "--profile", profile, "--target-dir"])
        .arg(target_dir)
        .current_dir(workspace_root())
        .output()
        .expect("running cargo build");
    assert!(output.status.success(), "building the static library: {}", String::from_utf8_lossy(&output.stderr));
    profile_dir.join("libcrf_mcu.a")
}

/// The host C program, compiled once per test binary; `None` without a C compiler.
fn c_program() -> Option<&'static Path> {
    static PROGRAM: OnceLock<Option<PathBuf>> = OnceLock::new();
    PROGRAM
        .get_or_init(|| {
            let Some(compiler) = c_compiler() else {
                eprintln!("skipped: no C compiler (set CC or install gcc) to build examples/host-c/crf_segment.c");
                return None;
            };
            let library = static_library();
            let program = Path::new(env!("CARGO_TARGET_TMPDIR")).join("crf_segment");
            let output = Command::new(&compiler)
                .args(["-std=c11", "-O2", "-Wall", "-Wextra", "-Wpedantic", "-Werror", "-I"])
                .arg(crate_dir().join("include"))
                .arg(crate_dir().join("examples/host-c/crf_segment.c"))
                .arg(&library)
                // The static library's native dependencies (`--print native-static-libs`).
                .args(["-lpthread", "-ldl", "-lm", "-o"])
                .arg(&program)
                .output()
                .expect("running the C compiler");
            assert!(output.status.success(), "compiling crf_segment.c: {}", String::from_utf8_lossy(&output.stderr));
            Some(program)
        })
        .as_deref()
}

/// The trainer binary, built with the profile of this test binary (the reference for `--user-dict`).
fn trainer_program() -> PathBuf {
    let exe = env::current_exe().expect("the test binary's path");
    let profile_dir = exe.parent().and_then(Path::parent).expect("target/<profile>/deps/<test>");
    let target_dir = profile_dir.parent().expect("target/<profile>");
    let profile = match profile_dir.file_name().and_then(|name| name.to_str()) {
        Some("debug") | None => "dev",
        Some(name) => name,
    };
    let cargo = env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let output = Command::new(cargo)
        .args(["build", "--quiet", "-p", "trainer", "--bin", "trainer", "--profile", profile, "--target-dir"])
        .arg(target_dir)
        .current_dir(workspace_root())
        .output()
        .expect("running cargo build");
    assert!(output.status.success(), "building the trainer: {}", String::from_utf8_lossy(&output.stderr));
    profile_dir.join("trainer")
}

/// Runs the C program with `args` on `input`; returns its stdout (it must exit 0).
fn run(program: &Path, args: &[&Path], input: &[u8]) -> Vec<u8> {
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starting crf_segment");
    let mut stdin = child.stdin.take().expect("piped stdin");
    let input = input.to_vec();
    let writer = std::thread::spawn(move || stdin.write_all(&input));
    let output = child.wait_with_output().expect("waiting for crf_segment");
    writer.join().expect("writer thread").expect("writing crf_segment's input");
    assert!(output.status.success(), "crf_segment {args:?}: {}", String::from_utf8_lossy(&output.stderr));
    output.stdout
}

/// The first line where two outputs differ, for a failure message.
fn first_difference(expected: &[u8], got: &[u8]) -> String {
    let (expected_lines, got_lines) = (expected.split(|&b| b == b'\n'), got.split(|&b| b == b'\n'));
    for (number, (want, have)) in expected_lines.zip(got_lines).enumerate() {
        if want != have {
            return format!(
                "line {}: expected {:?}, got {:?}",
                number + 1,
                String::from_utf8_lossy(want),
                String::from_utf8_lossy(have)
            );
        }
    }
    format!("lengths differ: expected {} bytes, got {}", expected.len(), got.len())
}

fn segments_like_the_decoder(what: &str, input: &[u8]) {
    let Some(program) = c_program() else { return };
    let model_bytes = fs::read(default_model()).expect("reading models/default.crfm");
    let model = Model::from_bytes(&model_bytes).expect("the default model loads");
    let expected = Segmenter::segment_to_vec(&model, input);
    let got = run(program, &[&default_model()], input);
    assert!(got == expected, "{what}: {}", first_difference(&expected, &got));
    eprintln!("{what}: the C program's {} output bytes equal the Rust decoder's", got.len());
}

#[test]
fn the_c_program_segments_the_sample_like_the_decoder() {
    let sample = fs::read(workspace_root().join("tests/data/sample.utf8")).expect("reading the sample");
    segments_like_the_decoder("sample", &sample);
    // Malformed input passes through the same way: invalid UTF-8, CRLF, a missing last line feed.
    segments_like_the_decoder("malformed", b"\xff\xfe\xe4\xb8 \xe6\x88\x91\xe4\xbb\xac\r\n\r\n  x\xe5\x9c");
}

#[test]
fn the_c_program_segments_the_pku_test_input_like_the_decoder() {
    let data_dir = env::var_os("CRF_DATA_DIR")
        .filter(|dir| !dir.is_empty())
        .map_or_else(|| workspace_root().join("../shared/data"), PathBuf::from);
    let input_path = data_dir.join("icwb2/pku_test.utf8");
    let Ok(input) = fs::read(&input_path) else {
        eprintln!("skipped: no PKU test input at {} (set CRF_DATA_DIR)", input_path.display());
        return;
    };
    segments_like_the_decoder("PKU test input", &input);
}

#[test]
fn the_c_program_labels_like_the_decoder() {
    let Some(program) = c_program() else { return };
    let model_bytes = fs::read(default_model()).expect("reading models/default.crfm");
    let model = Model::from_bytes(&model_bytes).expect("the default model loads");
    let input = "研究生命起源。\n北京大学 的学生\r\n".as_bytes();
    // What the program prints: each unit's bytes, then "/TAG " for a tagged character.
    let mut expected = Vec::new();
    // The program labels with forced spans on, as it segments.
    let mut labeler = StreamLabeler::<DEFAULT_WINDOW>::with_rules(&model, decoder::SpanRules::default());
    let mut print = |event| match event {
        Event::Unit(unit) => {
            expected.extend_from_slice(unit.as_bytes());
            if let Some(tag) = unit.tag {
                expected.extend_from_slice(format!("/{} ", model.tag_name(usize::from(tag)).unwrap()).as_bytes());
            }
        }
        Event::LineEnd(decoder::LineEnding::Lf) => expected.push(b'\n'),
        Event::LineEnd(decoder::LineEnding::CrLf) => expected.extend_from_slice(b"\r\n"),
        Event::LineEnd(_) => {}
    };
    labeler.push(input, &mut print);
    labeler.finish(&mut print);
    let got = run(program, &[Path::new("--label"), &default_model()], input);
    assert_eq!(String::from_utf8_lossy(&got), String::from_utf8_lossy(&expected));
    assert!(String::from_utf8_lossy(&got).starts_with("研/B 究/E 生/B 命/E 起/B 源/E 。/S \n"));
}

#[test]
fn the_c_program_names_the_problem_with_a_bad_model() {
    let Some(program) = c_program() else { return };
    let mut corrupt = fs::read(default_model()).expect("reading models/default.crfm");
    corrupt[20] ^= 1;
    let path = Path::new(env!("CARGO_TARGET_TMPDIR")).join("corrupt.crfm");
    fs::write(&path, &corrupt).expect("writing the corrupt model");
    let output = Command::new(program).arg(&path).stdin(Stdio::null()).output().expect("running crf_segment");
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("corrupt.crfm") && stderr.contains("CRC-32"), "{stderr}");
}

/// A word list of words the default model splits in the sample, written under the test's temporary
/// directory.
fn sample_word_list() -> PathBuf {
    let path = Path::new(env!("CARGO_TARGET_TMPDIR")).join("host-c-words.txt");
    fs::write(&path, "研究人员\n新闻发布会\n城市建设\n历史老师\n").expect("writing the word list");
    path
}

#[test]
fn the_c_program_keeps_user_dictionary_words_like_trainer_segment() {
    let Some(program) = c_program() else { return };
    let sample = fs::read(workspace_root().join("tests/data/sample.utf8")).expect("reading the sample");
    let words = sample_word_list();
    let trainer = trainer_program();
    let model = default_model();
    for extra in [&[][..], &["--no-forced-spans"][..]] {
        let mut args: Vec<&Path> = vec![Path::new("--user-dict"), &words];
        args.extend(extra.iter().map(Path::new));
        args.push(&model);
        let got = run(program, &args, &sample);
        let mut command = Command::new(&trainer);
        command.arg("segment").arg("--model").arg(&model).arg("--user-dict").arg(&words).args(extra);
        let expected = command.stdin(Stdio::null()).arg(workspace_root().join("tests/data/sample.utf8")).output();
        let expected = expected.expect("running trainer segment");
        assert!(expected.status.success(), "trainer segment: {}", String::from_utf8_lossy(&expected.stderr));
        assert!(got == expected.stdout, "--user-dict {extra:?}: {}", first_difference(&expected.stdout, &got));
        let text = String::from_utf8(got).expect("UTF-8 output");
        assert!(text.split_whitespace().any(|word| word == "新闻发布会"), "{text}");
        assert_ne!(text.as_bytes(), run(program, &[&model], &sample), "the dictionary changes the output");
    }
}

#[test]
fn the_c_program_names_the_bad_word_list_line() {
    let Some(program) = c_program() else { return };
    let path = Path::new(env!("CARGO_TARGET_TMPDIR")).join("bad-words.txt");
    fs::write(&path, "北京\n新 词\n").expect("writing the word list");
    let output = Command::new(program)
        .arg("--user-dict")
        .arg(&path)
        .arg(default_model())
        .stdin(Stdio::null())
        .output()
        .expect("running crf_segment");
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("bad-words.txt: line 2: ") && stderr.contains("white space"), "{stderr}");
}
