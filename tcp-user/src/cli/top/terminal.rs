//! The terminal while `xdptcp top` runs on one: raw mode (so `q` is read without Enter and
//! Ctrl-C is a key, not a signal), the alternate screen, no cursor; all of it undone when
//! the [`Screen`] is dropped, whether `top` ends by `q`, Ctrl-C, an error or a panic.

use std::io::Write;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use crossterm::event::{self, Event, KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use crossterm::{cursor, execute, queue, terminal};

/// The terminal in `top`'s mode; restored on drop.
pub struct Screen {
    out: std::io::Stdout,
}

impl Screen {
    /// Switches the terminal to raw mode and the alternate screen.
    pub fn enter() -> Result<Screen> {
        terminal::enable_raw_mode().context("switching the terminal to raw mode")?;
        let mut screen = Screen {
            out: std::io::stdout(),
        };
        execute!(screen.out, terminal::EnterAlternateScreen, cursor::Hide)
            .context("switching to the alternate screen")?;
        Ok(screen)
    }

    /// Clears the screen and draws `lines` from the top left.
    pub fn draw(&mut self, lines: &[String]) -> Result<()> {
        queue!(
            self.out,
            cursor::MoveTo(0, 0),
            terminal::Clear(terminal::ClearType::All)
        )?;
        for line in lines {
            // Raw mode: a newline does not return the carriage.
            write!(self.out, "{line}\r\n")?;
        }
        self.out.flush()?;
        Ok(())
    }

    /// Waits up to `timeout` for a key; true when it asks to quit (`q`, Esc, Ctrl-C).
    /// `stop` is polled meanwhile (a signal from outside asks the same).
    pub fn wait_for_quit(&mut self, timeout: Duration, stop: &dyn Fn() -> bool) -> Result<bool> {
        let end = Instant::now() + timeout;
        loop {
            if stop() {
                return Ok(true);
            }
            let left = end.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Ok(false);
            }
            if event::poll(left.min(Duration::from_millis(100)))? {
                if let Event::Key(key) = event::read()? {
                    if is_quit(&key) {
                        return Ok(true);
                    }
                }
            }
        }
    }
}

impl Drop for Screen {
    fn drop(&mut self) {
        let _ = execute!(self.out, cursor::Show, terminal::LeaveAlternateScreen);
        let _ = terminal::disable_raw_mode();
    }
}

/// `q`, Esc and Ctrl-C quit.
fn is_quit(key: &KeyEvent) -> bool {
    key.kind == KeyEventKind::Press
        && match key.code {
            KeyCode::Char('q') | KeyCode::Char('Q') | KeyCode::Esc => true,
            KeyCode::Char('c') => key.modifiers.contains(KeyModifiers::CONTROL),
            _ => false,
        }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn q_esc_and_ctrl_c_quit_other_keys_do_not() {
        let key = |code, modifiers| KeyEvent::new(code, modifiers);
        assert!(is_quit(&key(KeyCode::Char('q'), KeyModifiers::NONE)));
        assert!(is_quit(&key(KeyCode::Esc, KeyModifiers::NONE)));
        assert!(is_quit(&key(KeyCode::Char('c'), KeyModifiers::CONTROL)));
        assert!(!is_quit(&key(KeyCode::Char('c'), KeyModifiers::NONE)));
        assert!(!is_quit(&key(KeyCode::Char(' '), KeyModifiers::NONE)));
    }
}
