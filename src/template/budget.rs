//! How much text a template may make: every helper checks its result against a budget before
//! it allocates, so a template that asks for gigabytes (`replace $big "x" $big -1`, `printf`
//! fanned out, `json` of a vars file full of aliases) is an error that points at the call, not
//! an out-of-memory abort.
//!
//! Two limits. One result is at most [`MAX_RESULT_BYTES`], the size the rendered text may have: a
//! value larger than the whole output is of no use. All the results of one render together are at
//! most [`MAX_TOTAL_BYTES`], a bound on the work a loop of helper calls can do (Jinja's fuel is
//! the same kind of bound). What a render holds at once (many results kept in variables) is
//! watched by [`super::memory`]. A list's items are charged [`SLOT_BYTES`] each, what a value
//! and its share of the list cost.

use super::funcs::FuncError;
use super::MAX_RENDERED_BYTES;
use crate::diagnostic::Code;
use std::sync::atomic::{AtomicUsize, Ordering};

/// The largest result one helper may make.
pub const MAX_RESULT_BYTES: usize = MAX_RENDERED_BYTES;
/// The most all helpers of one render may make together. Real templates make a few kilobytes.
pub const MAX_TOTAL_BYTES: usize = 16 * MAX_RENDERED_BYTES;
/// What one item of a list (or entry of a map) is charged.
pub const SLOT_BYTES: usize = 32;

/// The bytes helpers have made so far in one render. Atomic only because minijinja wants its
/// functions `Sync`; one render runs on one thread.
#[derive(Debug, Default)]
pub struct Budget {
    used: AtomicUsize,
}

impl Budget {
    /// The most the next result may hold.
    pub fn limit(&self) -> usize {
        MAX_RESULT_BYTES.min(MAX_TOTAL_BYTES.saturating_sub(self.used.load(Ordering::Relaxed)))
    }

    /// Fails, naming `helper`, when a result of `bytes` would be too large; charges nothing.
    pub fn check(&self, helper: &str, bytes: u128) -> Result<(), FuncError> {
        if bytes > MAX_RESULT_BYTES as u128 {
            return Err(too_large(helper));
        }
        if bytes > self.limit() as u128 {
            return Err(FuncError::new(
                Code::TemplateTooLarge,
                format!("error calling {helper}: the template's helpers would make more than {} MiB of text in all", MAX_TOTAL_BYTES >> 20),
            ));
        }
        Ok(())
    }

    /// Records a result of `bytes` that was made.
    pub fn charge(&self, bytes: usize) {
        self.used.fetch_add(bytes, Ordering::Relaxed);
    }

    /// [`check`](Self::check), then [`charge`](Self::charge): for a result whose size is known
    /// before it is made.
    pub fn take(&self, helper: &str, bytes: u128) -> Result<(), FuncError> {
        self.check(helper, bytes)?;
        self.charge(bytes as usize);
        Ok(())
    }

    /// Charges what `out` (made with [`limit`](Self::limit) as its limit) holds, or fails if it
    /// ran over.
    pub fn finish(&self, helper: &str, out: Capped) -> Result<String, FuncError> {
        if out.over() {
            return Err(self.refuse(helper, out.limit));
        }
        self.charge(out.len());
        Ok(out.text)
    }

    /// The error for a result that did not fit in `limit` (what [`limit`](Self::limit) gave).
    pub fn refuse(&self, helper: &str, limit: usize) -> FuncError {
        self.check(helper, limit as u128 + 1).err().unwrap_or_else(|| too_large(helper))
    }
}

fn too_large(helper: &str) -> FuncError {
    FuncError::new(Code::TemplateTooLarge, format!("error calling {helper}: its result would be larger than {} MiB", MAX_RESULT_BYTES >> 20))
}

/// A string that refuses to grow past its limit: a write that would cross it is dropped and marks
/// the text as over, and writers that walk a large value stop at the next [`over`](Self::over).
#[derive(Debug)]
pub struct Capped {
    text: String,
    limit: usize,
    over: bool,
}

impl Capped {
    pub fn new(limit: usize) -> Capped {
        Capped { text: String::new(), limit, over: false }
    }

    /// Room for everything: for text known to be small.
    #[cfg(test)]
    pub fn unlimited() -> Capped {
        Capped::new(usize::MAX)
    }

    fn fits(&mut self, bytes: usize) -> bool {
        if self.over || bytes > self.limit - self.text.len() {
            self.over = true;
            return false;
        }
        true
    }

    pub fn push_str(&mut self, s: &str) {
        if self.fits(s.len()) {
            self.text.push_str(s);
        }
    }

    pub fn push(&mut self, c: char) {
        if self.fits(c.len_utf8()) {
            self.text.push(c);
        }
    }

    /// `c`, `n` times.
    pub fn fill(&mut self, c: char, n: usize) {
        if self.fits(c.len_utf8().saturating_mul(n)) {
            self.text.extend(std::iter::repeat(c).take(n));
        }
    }

    /// Marks the text as incomplete: what was to be written into it did not fit elsewhere.
    pub fn set_over(&mut self) {
        self.over = true;
    }

    /// Whether a write was dropped: the text is incomplete.
    pub fn over(&self) -> bool {
        self.over
    }

    pub fn len(&self) -> usize {
        self.text.len()
    }

    /// Room left before the limit.
    pub fn room(&self) -> usize {
        self.limit - self.text.len()
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The text, whole only when [`over`](Self::over) is false.
    pub fn into_string(self) -> String {
        self.text
    }
}

impl std::fmt::Write for Capped {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        self.push_str(s);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capped_text_stops_at_its_limit() {
        let mut out = Capped::new(5);
        out.push_str("abc");
        out.fill('x', 2);
        assert!(!out.over());
        out.push('y');
        assert!(out.over());
        out.push_str("");
        assert_eq!(out.as_str(), "abcxx");
        let mut huge = Capped::new(10);
        huge.fill(' ', usize::MAX);
        assert!(huge.over() && huge.len() == 0);
    }

    #[test]
    fn the_budget_refuses_before_it_runs_out() {
        let budget = Budget::default();
        assert!(budget.take("repeat", (MAX_RESULT_BYTES + 1) as u128).is_err());
        for _ in 0..MAX_TOTAL_BYTES / MAX_RESULT_BYTES {
            budget.take("repeat", MAX_RESULT_BYTES as u128).unwrap();
        }
        let e = budget.take("printf", 1).unwrap_err();
        assert_eq!(e.code, Code::TemplateTooLarge);
        assert!(e.message.contains("in all"), "{}", e.message);
    }
}
