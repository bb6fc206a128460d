//! A small but real ML pipeline: datasets (generated deterministically from a name, or read
//! from a CSV file whose last column is the label), logistic and linear regression trained by
//! full-batch gradient descent on standardised features, and their evaluation metrics.

use std::path::Path;

use serde::{Deserialize, Serialize};

/// Rows of features with one label each.
#[derive(Debug, Clone, PartialEq)]
pub struct Dataset {
    /// Where it came from (`name` or the CSV path).
    pub name: String,
    /// Feature names.
    pub features: Vec<String>,
    /// One row per sample.
    pub x: Vec<Vec<f64>>,
    /// Labels: 0/1 for classification, real values for regression.
    pub y: Vec<f64>,
}

/// Why a dataset could not be loaded.
#[derive(Debug)]
pub enum DatasetError {
    /// The CSV file could not be read.
    Io(String, std::io::Error),
    /// A CSV line is not numbers.
    Parse(String, usize, String),
    /// Nothing to learn from.
    Empty(String),
}

impl std::error::Error for DatasetError {}

impl std::fmt::Display for DatasetError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Io(p, e) => write!(f, "cannot read dataset {p}: {e}"),
            Self::Parse(p, line, m) => write!(
                f,
                "{p}, line {line}: {m}; every column must be a number and the last one the label"
            ),
            Self::Empty(p) => write!(f, "dataset {p} has no rows"),
        }
    }
}

/// The kind of model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ModelKind {
    /// Binary classification.
    Logistic,
    /// Regression.
    Linear,
}

impl std::str::FromStr for ModelKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "logistic" | "logreg" | "logistic-regression" => Ok(Self::Logistic),
            "linear" | "linreg" | "linear-regression" => Ok(Self::Linear),
            other => Err(format!(
                "unknown model {other:?}; expected logistic or linear"
            )),
        }
    }
}

/// A deterministic pseudo-random generator (xorshift64*), so a dataset name always gives the
/// same data.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// Seeded from `name` with FNV-1a.
    pub fn from_name(name: &str) -> Self {
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for b in name.bytes() {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        Self(h | 1)
    }

    /// Uniform in [0, 1).
    pub fn next_f64(&mut self) -> f64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        let v = self.0.wrapping_mul(0x2545_f491_4f6c_dd1d);
        (v >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Standard normal (Box-Muller).
    pub fn normal(&mut self) -> f64 {
        let u1 = self.next_f64().max(1e-12);
        let u2 = self.next_f64();
        (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
    }
}

impl Dataset {
    /// `spec` is a CSV path when such a file exists, otherwise a name to generate from.
    pub fn load(spec: &str, kind: ModelKind) -> Result<Self, DatasetError> {
        if Path::new(spec).is_file() {
            Self::from_csv(spec)
        } else {
            Ok(Self::generate(spec, kind, 600, 4))
        }
    }

    /// `n` samples of `d` features, labels from a hidden linear model of the name's seed.
    pub fn generate(name: &str, kind: ModelKind, n: usize, d: usize) -> Self {
        let mut rng = Rng::from_name(name);
        let w: Vec<f64> = (0..d).map(|_| rng.normal() * 2.0).collect();
        let b = rng.normal();
        let mut x = Vec::with_capacity(n);
        let mut y = Vec::with_capacity(n);
        for _ in 0..n {
            let row: Vec<f64> = (0..d)
                .map(|j| rng.normal() * (j as f64 + 1.0) + j as f64)
                .collect();
            let z: f64 = row.iter().zip(&w).map(|(a, b)| a * b / 3.0).sum::<f64>() + b;
            let label = match kind {
                ModelKind::Logistic => f64::from(u8::from(sigmoid(z) > rng.next_f64())),
                ModelKind::Linear => z + rng.normal() * 0.1,
            };
            x.push(row);
            y.push(label);
        }
        Self {
            name: name.to_string(),
            features: (0..d).map(|j| format!("x{j}")).collect(),
            x,
            y,
        }
    }

    /// A CSV file with a header line; the last column is the label.
    pub fn from_csv(path: &str) -> Result<Self, DatasetError> {
        let text = std::fs::read_to_string(path).map_err(|e| DatasetError::Io(path.into(), e))?;
        let mut lines = text
            .lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty());
        let header: Vec<String> = match lines.next() {
            Some((_, h)) => h.split(',').map(|s| s.trim().to_string()).collect(),
            None => return Err(DatasetError::Empty(path.into())),
        };
        let d = header.len().saturating_sub(1);
        let (mut x, mut y) = (Vec::new(), Vec::new());
        for (i, line) in lines {
            let vals: Result<Vec<f64>, _> =
                line.split(',').map(|s| s.trim().parse::<f64>()).collect();
            let vals = vals.map_err(|e| DatasetError::Parse(path.into(), i + 1, e.to_string()))?;
            if vals.len() != d + 1 || d == 0 {
                return Err(DatasetError::Parse(
                    path.into(),
                    i + 1,
                    format!("expected {} columns, found {}", d + 1, vals.len()),
                ));
            }
            y.push(vals[d]);
            x.push(vals[..d].to_vec());
        }
        if x.is_empty() {
            return Err(DatasetError::Empty(path.into()));
        }
        Ok(Self {
            name: path.to_string(),
            features: header[..d].to_vec(),
            x,
            y,
        })
    }

    /// Splits off the last `fraction` of rows (deterministic, no shuffling: generated rows are
    /// already in random order).
    pub fn split(&self, fraction: f64) -> (Dataset, Dataset) {
        let n_test = ((self.x.len() as f64) * fraction).round() as usize;
        let cut = self.x.len() - n_test.min(self.x.len());
        let part = |r: std::ops::Range<usize>| Dataset {
            name: self.name.clone(),
            features: self.features.clone(),
            x: self.x[r.clone()].to_vec(),
            y: self.y[r].to_vec(),
        };
        (part(0..cut), part(cut..self.x.len()))
    }
}

fn sigmoid(z: f64) -> f64 {
    1.0 / (1.0 + (-z).exp())
}

/// A trained model: what `ml-train` writes and `ml-evaluate` reads.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Model {
    /// Logistic or linear.
    pub kind: ModelKind,
    /// The dataset it was trained on.
    pub dataset: String,
    /// Feature names.
    pub features: Vec<String>,
    /// Per-feature mean used for standardisation.
    pub means: Vec<f64>,
    /// Per-feature standard deviation used for standardisation.
    pub stds: Vec<f64>,
    /// Weights on standardised features.
    pub weights: Vec<f64>,
    /// Intercept.
    pub bias: f64,
    /// Epochs run.
    pub epochs: usize,
    /// Training loss after the last epoch.
    pub final_loss: f64,
}

impl Model {
    /// The model's output for one row: a probability (logistic) or a value (linear).
    pub fn predict(&self, row: &[f64]) -> f64 {
        let z: f64 = row
            .iter()
            .enumerate()
            .map(|(j, v)| self.weights[j] * (v - self.means[j]) / self.stds[j])
            .sum::<f64>()
            + self.bias;
        match self.kind {
            ModelKind::Logistic => sigmoid(z),
            ModelKind::Linear => z,
        }
    }
}

/// Trains by full-batch gradient descent; `on_epoch(epoch, loss)` is called every epoch.
pub fn train(
    data: &Dataset,
    kind: ModelKind,
    epochs: usize,
    learning_rate: f64,
    mut on_epoch: impl FnMut(usize, f64),
) -> Model {
    let d = data.features.len();
    let n = data.x.len().max(1) as f64;
    let means: Vec<f64> = (0..d)
        .map(|j| data.x.iter().map(|r| r[j]).sum::<f64>() / n)
        .collect();
    let stds: Vec<f64> = (0..d)
        .map(|j| {
            let var = data
                .x
                .iter()
                .map(|r| (r[j] - means[j]).powi(2))
                .sum::<f64>()
                / n;
            if var > 0.0 {
                var.sqrt()
            } else {
                1.0
            }
        })
        .collect();
    let mut model = Model {
        kind,
        dataset: data.name.clone(),
        features: data.features.clone(),
        means,
        stds,
        weights: vec![0.0; d],
        bias: 0.0,
        epochs,
        final_loss: f64::NAN,
    };
    for epoch in 0..epochs {
        let mut gw = vec![0.0; d];
        let mut gb = 0.0;
        for (row, &y) in data.x.iter().zip(&data.y) {
            let err = model.predict(row) - y;
            for j in 0..d {
                gw[j] += err * (row[j] - model.means[j]) / model.stds[j];
            }
            gb += err;
        }
        for (w, g) in model.weights.iter_mut().zip(&gw) {
            *w -= learning_rate * g / n;
        }
        model.bias -= learning_rate * gb / n;
        let loss = loss(&model, data);
        model.final_loss = loss;
        on_epoch(epoch, loss);
    }
    model
}

/// Log loss (logistic) or mean squared error (linear).
pub fn loss(model: &Model, data: &Dataset) -> f64 {
    let n = data.x.len().max(1) as f64;
    data.x
        .iter()
        .zip(&data.y)
        .map(|(row, &y)| {
            let p = model.predict(row);
            match model.kind {
                ModelKind::Logistic => {
                    let p = p.clamp(1e-12, 1.0 - 1e-12);
                    -(y * p.ln() + (1.0 - y) * (1.0 - p).ln())
                }
                ModelKind::Linear => (p - y).powi(2),
            }
        })
        .sum::<f64>()
        / n
}

/// What `ml-evaluate` writes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Metrics {
    /// The dataset evaluated on.
    pub dataset: String,
    /// Rows evaluated.
    pub samples: usize,
    /// Log loss or MSE.
    pub loss: f64,
    /// Accuracy at 0.5 (logistic only).
    pub accuracy: Option<f64>,
    /// Coefficient of determination (linear only).
    pub r2: Option<f64>,
}

/// Evaluates `model` on `data`.
pub fn evaluate(model: &Model, data: &Dataset) -> Metrics {
    let n = data.x.len();
    let loss = loss(model, data);
    let (accuracy, r2) = match model.kind {
        ModelKind::Logistic => {
            let correct = data
                .x
                .iter()
                .zip(&data.y)
                .filter(|(row, &y)| (model.predict(row) >= 0.5) == (y >= 0.5))
                .count();
            (Some(correct as f64 / n.max(1) as f64), None)
        }
        ModelKind::Linear => {
            let mean = data.y.iter().sum::<f64>() / n.max(1) as f64;
            let ss_tot: f64 = data.y.iter().map(|y| (y - mean).powi(2)).sum();
            (
                None,
                Some(if ss_tot > 0.0 {
                    1.0 - loss * n as f64 / ss_tot
                } else {
                    0.0
                }),
            )
        }
    };
    Metrics {
        dataset: data.name.clone(),
        samples: n,
        loss,
        accuracy,
        r2,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn generated_data_is_deterministic() {
        let a = Dataset::generate("iris-like", ModelKind::Logistic, 50, 3);
        let b = Dataset::generate("iris-like", ModelKind::Logistic, 50, 3);
        assert_eq!(a, b);
        assert_ne!(a, Dataset::generate("other", ModelKind::Logistic, 50, 3));
    }

    #[test]
    fn logistic_regression_learns() {
        let data = Dataset::generate("churn", ModelKind::Logistic, 600, 4);
        let (train_set, test_set) = data.split(0.25);
        let model = train(&train_set, ModelKind::Logistic, 300, 0.5, |_, _| {});
        let m = evaluate(&model, &test_set);
        assert!(m.accuracy.unwrap() > 0.7, "{m:?}");
    }

    #[test]
    fn linear_regression_fits() {
        let data = Dataset::generate("prices", ModelKind::Linear, 400, 3);
        let model = train(&data, ModelKind::Linear, 500, 0.1, |_, _| {});
        let m = evaluate(&model, &data);
        assert!(m.r2.unwrap() > 0.95, "{m:?}");
    }

    #[test]
    fn csv_with_label_last() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("d.csv");
        std::fs::write(&p, "a,b,label\n1,2,0\n3,4,1\n").unwrap();
        let d = Dataset::from_csv(p.to_str().unwrap()).unwrap();
        assert_eq!(d.features, vec!["a", "b"]);
        assert_eq!(d.y, vec![0.0, 1.0]);
        std::fs::write(&p, "a,label\n1,x\n").unwrap();
        assert!(Dataset::from_csv(p.to_str().unwrap())
            .unwrap_err()
            .to_string()
            .contains("line 2"));
    }
}
