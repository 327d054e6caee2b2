mod common;
use common::*;
use decoder::Model;
#[test]
fn diag() {
    let mut total = 0; let mut with = 0; let mut diff = 0;
    for seed in 0..300u64 {
        let mut rng = Rng(seed);
        let spec = random_small(&mut rng);
        let bytes = spec.encode();
        let model = Model::from_bytes(&bytes).unwrap();
        let input: Vec<u8> = (0..300).map(|_| b"abZ7"[rng.below(4) as usize]).collect();
        let (ev, cuts) = stream_events::<16>(&model, &[&input]);
        total += 1; if cuts > 0 { with += 1; if ev != reference_events(&model, &input) { diff += 1; } }
    }
    println!("W=16: {with}/{total} inputs had forced cuts, {diff} differed");
}
