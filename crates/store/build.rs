//! Rebuilds the crate when a migration changes: `embed_migrations!` reads
//! the folders at compile time but does not tell cargo to watch them.

fn main() {
    println!("cargo:rerun-if-changed=../../migrations");
}
