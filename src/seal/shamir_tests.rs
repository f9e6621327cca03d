//! Shamir cross-checked against an independent textbook implementation.

use super::*;

/// Horner evaluation of `coeffs[0] + coeffs[1]·x + …`.
fn eval(coeffs: &[Scalar], x: u8) -> Scalar {
    let x = Scalar::from(u64::from(x));
    coeffs.iter().rev().fold(Scalar::ZERO, |acc, c| acc * x + c)
}

/// Lagrange interpolation at 0: Σ y_j · Π_{m≠j} x_m / (x_m − x_j).
fn lagrange_at_zero(points: &[(u8, Scalar)]) -> Scalar {
    let mut acc = Scalar::ZERO;
    for (j, (xj, yj)) in points.iter().enumerate() {
        let xj = Scalar::from(u64::from(*xj));
        let mut num = Scalar::ONE;
        let mut den = Scalar::ONE;
        for (m, (xm, _)) in points.iter().enumerate() {
            if m != j {
                let xm = Scalar::from(u64::from(*xm));
                num *= xm;
                den *= xm - xj;
            }
        }
        acc += *yj * num * den.invert().unwrap();
    }
    acc
}

fn subsets(n: u8, k: u8) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    for mask in 0u32..(1 << n) {
        if mask.count_ones() == u32::from(k) {
            out.push((1..=n).filter(|i| mask & (1 << (i - 1)) != 0).collect());
        }
    }
    out
}

#[test]
fn vsss_split_matches_textbook_combine() {
    for (k, n) in [(1u8, 1u8), (1, 3), (2, 3), (3, 5), (5, 5)] {
        let key = BidKey::generate().unwrap();
        let shares = split(&key, k, n).unwrap();
        assert_eq!(shares.len(), usize::from(n));
        for (i, s) in shares.iter().enumerate() {
            assert_eq!(usize::from(s.x), i + 1);
            let enc = s.to_bytes();
            assert_eq!(enc[0], s.x);
            assert_eq!(Share::from_bytes(enc.as_ref()).unwrap(), *s);
        }
        for subset in subsets(n, k) {
            let pts: Vec<(u8, Scalar)> = subset
                .iter()
                .map(|x| {
                    let s = &shares[usize::from(*x) - 1];
                    (s.x, scalar_from_bytes(s.y()).unwrap())
                })
                .collect();
            let k_indep = lagrange_at_zero(&pts);
            assert_eq!(k_indep.to_repr().as_slice(), key.as_bytes());
            let chosen: Vec<Share> = subset.iter().map(|x| shares[usize::from(*x) - 1].clone()).collect();
            assert_eq!(combine(&chosen).unwrap(), key);
        }
    }
}

#[test]
fn textbook_split_matches_vsss_combine() {
    let mut rng = crate::seal::rng::system_rng().unwrap();
    for (k, n) in [(2u8, 3u8), (3, 5), (4, 7)] {
        let coeffs: Vec<Scalar> = (0..k).map(|_| Scalar::random(&mut rng)).collect();
        let shares: Vec<Share> = (1..=n)
            .map(|x| {
                let mut b = [0u8; 33];
                b[0] = x;
                b[1..].copy_from_slice(&eval(&coeffs, x).to_repr());
                Share::from_bytes(&b).unwrap()
            })
            .collect();
        let key = combine(&shares[..usize::from(k)]).unwrap();
        assert_eq!(key.as_bytes().as_slice(), coeffs[0].to_repr().as_slice());
        // Using all n shares gives the same result.
        assert_eq!(combine(&shares).unwrap(), key);
        // Too few shares give another value.
        if k > 1 {
            let fewer = combine(&shares[..usize::from(k) - 1]);
            assert!(fewer.map(|f| f != key).unwrap_or(true));
        }
    }
}

#[test]
fn max_custodians_and_bad_inputs() {
    let key = BidKey::generate().unwrap();
    let shares = split(&key, 200, 255).unwrap();
    assert_eq!(shares[254].x, 255);
    assert_eq!(combine(&shares[55..]).unwrap(), key);
    assert!(split(&key, 0, 3).is_err());
    assert!(split(&key, 4, 3).is_err());
    assert!(combine(&[]).is_err());
    assert!(combine(&[shares[0].clone(), shares[0].clone()]).is_err());
    let mut bad = [0xffu8; 33];
    bad[0] = 1;
    assert!(Share::from_bytes(&bad).is_err());
    bad = [0u8; 33];
    assert!(Share::from_bytes(&bad).is_err());
    assert!(BidKey::from_bytes(&[0u8; 32]).is_err());
    assert!(BidKey::from_bytes(&[0xffu8; 32]).is_err());
}
