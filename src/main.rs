// The system allocator, watched while templates render (see template::memory).
#[global_allocator]
static ALLOCATOR: rockerc::template::memory::Watchdog = rockerc::template::memory::Watchdog;

fn main() {
    std::process::exit(rockerc::cli::main());
}
