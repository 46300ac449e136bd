//! The last line of defence against a template that asks for more memory than a compile needs.
//!
//! Every helper rockerc writes checks its result against the [`Budget`](super::budget::Budget)
//! before it allocates, and minijinja's fuel does the same for most of what the Jinja dialect
//! does itself. A few of minijinja's own operations do not (`"" ~ list` formats a list of shared
//! strings into one string whose size nobody checked), and an allocation the system refuses
//! aborts the process with a Rust message rather than a diagnostic. So the command line installs
//! [`Watchdog`] as the global allocator: while a template renders (on that thread only), it counts
//! the bytes the render holds, and past [`LIMIT`] it prints a prepared diagnostic and exits with
//! status 1 before asking the system for the memory. Nothing has been written by then: rockerc
//! writes its output only after the whole compile succeeded.
//!
//! A library caller that does not call [`enable`] gets only the budgets, never an exit.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::OnceLock;

/// What a render may hold at once: the output (32 MiB at most), its source map and the values a
/// template keeps take a few megabytes in real files.
pub const LIMIT: isize = 256 << 20;

static ENABLED: AtomicBool = AtomicBool::new(false);
static MESSAGE: OnceLock<Box<[u8]>> = OnceLock::new();
static EMPTY_DIR: OnceLock<std::ffi::CString> = OnceLock::new();

thread_local! {
    // Const-initialised cells with no destructor: reading them never allocates, so the allocator
    // may use them.
    static ARMED: Cell<bool> = const { Cell::new(false) };
    static HELD: Cell<isize> = const { Cell::new(0) };
}

/// The allocator the `rockerc` binary installs: the system's, with the count described above.
pub struct Watchdog;

/// Turns the watchdog on for this process; `message` is what it prints (a rendered diagnostic,
/// ending in a newline) before it exits.
pub fn enable(message: Vec<u8>) {
    let _ = MESSAGE.set(message.into_boxed_slice());
    ENABLED.store(true, Ordering::Relaxed);
}

/// An empty directory the caller made for the output, which [`Watchdog`] removes before it
/// exits (its process ends without running destructors).
pub fn remove_on_exit(dir: &std::path::Path) {
    use std::os::unix::ffi::OsStrExt;
    if let Ok(path) = std::ffi::CString::new(dir.as_os_str().as_bytes()) {
        let _ = EMPTY_DIR.set(path);
    }
}

/// Counts this thread's allocations until the returned guard is dropped (when [`enable`]d).
pub fn watch() -> Armed {
    let armed = ENABLED.load(Ordering::Relaxed) && !ARMED.get();
    if armed {
        HELD.set(0);
        ARMED.set(true);
    }
    Armed(armed)
}

pub struct Armed(bool);

impl Drop for Armed {
    fn drop(&mut self) {
        if self.0 {
            ARMED.set(false);
        }
    }
}

fn grow(bytes: usize) {
    if !ARMED.get() {
        return;
    }
    let held = HELD.get().saturating_add(bytes as isize);
    HELD.set(held);
    if held > LIMIT {
        give_up();
    }
}

fn shrink(bytes: usize) {
    if ARMED.get() {
        HELD.set(HELD.get().saturating_sub(bytes as isize));
    }
}

/// Prints the prepared diagnostic and exits, without allocating (no `std::io`, no destructors).
fn give_up() -> ! {
    ARMED.set(false);
    if let Some(message) = MESSAGE.get() {
        let mut rest: &[u8] = message;
        while !rest.is_empty() {
            // SAFETY: writes bytes the slice holds to fd 2; a failed write ends the loop.
            let n = unsafe { libc::write(2, rest.as_ptr().cast(), rest.len()) };
            if n <= 0 {
                break;
            }
            rest = &rest[n as usize..];
        }
    }
    if let Some(dir) = EMPTY_DIR.get() {
        // SAFETY: a NUL-terminated path made before the render; rmdir only removes it if empty.
        unsafe { libc::rmdir(dir.as_ptr()) };
    }
    // SAFETY: _exit ends the process at once; nothing after it runs.
    unsafe { libc::_exit(1) }
}

// SAFETY: every call goes to `System` with the same arguments; the count only decides whether
// the process exits first.
unsafe impl GlobalAlloc for Watchdog {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        grow(layout.size());
        System.alloc(layout)
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        grow(layout.size());
        System.alloc_zeroed(layout)
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        shrink(layout.size());
        System.dealloc(ptr, layout)
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if new_size > layout.size() {
            grow(new_size - layout.size());
        } else {
            shrink(layout.size() - new_size);
        }
        System.realloc(ptr, layout, new_size)
    }
}
