fn main() {
    std::process::exit(rockerc::cli::main());
}
