//! The `userql` binary.

fn main() {
    eprintln!("userql: the command line is coming (issue 6)");
}
