//! What the command prints. People get progress bars and notes on stderr and results on
//! stdout; `--quiet` prints only the results scripts need (asset ids); `--json` prints one JSON
//! object per line on stdout (the upload engine's events as the SDK reports them, plus the
//! command's own), and no bars.

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde_json::Value;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Human,
    Quiet,
    Json,
}

pub struct Output {
    mode: Mode,
    bars: MultiProgress,
}

impl Output {
    pub fn new(mode: Mode) -> Self {
        let target = if mode == Mode::Human {
            // Hidden by indicatif itself when stderr is not a terminal.
            ProgressDrawTarget::stderr()
        } else {
            ProgressDrawTarget::hidden()
        };
        Output {
            mode,
            bars: MultiProgress::with_draw_target(target),
        }
    }

    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// A JSON event line (`--json` only).
    pub fn event(&self, value: Value) {
        if self.mode == Mode::Json {
            println!("{value}");
        }
    }

    /// A result: `short` alone with `--quiet`, `long` for people, `json` with `--json`.
    pub fn result(&self, short: &str, long: &str, json: Value) {
        match self.mode {
            Mode::Quiet => println!("{short}"),
            Mode::Human => {
                self.bars.suspend(|| println!("{long}"));
            }
            Mode::Json => println!("{json}"),
        }
    }

    /// A note for people, on stderr.
    pub fn note(&self, msg: &str) {
        if self.mode == Mode::Human {
            // Not `MultiProgress::println`: that prints nothing where the bars are hidden
            // (stderr not a terminal), and notes matter there too.
            self.bars.suspend(|| eprintln!("{msg}"));
        }
    }

    /// A byte progress bar labelled `label`.
    pub fn bytes_bar(&self, total: u64, label: &str) -> ProgressBar {
        let bar = self.bars.add(ProgressBar::new(total));
        bar.set_style(
            ProgressStyle::with_template(
                "{msg:30!} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} ETA {eta}",
            )
            .expect("a valid template")
            .progress_chars("=> "),
        );
        bar.set_message(label.to_owned());
        bar
    }

    /// A percentage bar (transcoding).
    pub fn percent_bar(&self, label: &str) -> ProgressBar {
        let bar = self.bars.add(ProgressBar::new(100));
        bar.set_style(
            ProgressStyle::with_template("{msg:30!} [{bar:30}] {pos}%")
                .expect("a valid template")
                .progress_chars("=> "),
        );
        bar.set_message(label.to_owned());
        bar
    }
}
