//! Measures what a delta level's build costs against the rows it covers (see `store/delta.rs`).
//!
//! ```sh
//! cargo run --release -p userql-directory --example delta_cost -- 1000000 64 128 256 1024 4096
//! ```
//! Prints, per number of dirty rows (spread over the directory with a fixed seed), the median
//! and the slowest of a few builds (wall time on the calling thread).

#[cfg(feature = "example-mimalloc")]
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::time::Instant;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use roaring::RoaringBitmap;
use userql_directory::facts::Subjects;
use userql_directory::generate::{generate, GenOptions};
use userql_directory::index::Indexes;
use userql_directory::store::Delta;

fn main() {
    let mut args = std::env::args().skip(1);
    let users: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(100_000);
    let sizes: Vec<u32> = args.filter_map(|a| a.parse().ok()).collect();
    let sizes = if sizes.is_empty() {
        vec![64, 128, 256, 1024, 4096]
    } else {
        sizes
    };
    let started = Instant::now();
    let model = generate(&GenOptions { users, seed: 42 });
    println!("generate {users}: {:.2?}", started.elapsed());
    let subjects = Subjects::build(&model);
    let current = Indexes::build(&model);
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    for &size in &sizes {
        let mut times = Vec::new();
        for _ in 0..7 {
            let mut rows = RoaringBitmap::new();
            while rows.len() < u64::from(size).min(users as u64) {
                rows.insert(rng.gen_range(0..users as u32));
            }
            let one = Instant::now();
            let delta = Delta::build(&model, &subjects, &current, &rows, 0);
            times.push(one.elapsed().as_secs_f64() * 1e3);
            assert_eq!(delta.rows.len(), rows.len());
        }
        times.sort_by(f64::total_cmp);
        println!(
            "dirty rows {size:>6}: delta build median {:8.2} ms, slowest {:8.2} ms",
            times[times.len() / 2],
            times[times.len() - 1]
        );
    }
}
