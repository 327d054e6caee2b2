//! The float parameters of a neural emission model, as training produces them and export reads them.
//!
//! Shapes: `V` characters in the vocabulary, embedding width `D`, `B` n-gram buckets, `L` tags, and for
//! a convolution `C_in` input and `C_out` output channels and kernel width `K`. Every tensor is a flat
//! row-major `Vec<f32>`.

/// One 1-D convolution with "same" zero padding, followed by ReLU.
#[derive(Debug, Clone, PartialEq)]
pub struct ConvWeights {
    /// Output channels `C_out` (at most 256).
    pub out_channels: usize,
    /// Kernel width `K`, odd (at most 9).
    pub kernel: usize,
    /// Dilation (at least 1): tap `j` reads position `p + dilation * (j - (K - 1) / 2)`.
    pub dilation: usize,
    /// `[C_out][K][C_in]`.
    pub weights: Vec<f32>,
    /// `[C_out]`.
    pub bias: Vec<f32>,
}

/// The output layer: one score per tag from the last activation.
#[derive(Debug, Clone, PartialEq)]
pub struct DenseWeights {
    /// `[L][C]`, `C` = the last activation's width.
    pub weights: Vec<f32>,
    /// `[L]`.
    pub bias: Vec<f32>,
}

/// The hashed n-gram table of a hybrid model: the linear model's features, one row of `L` scores per
/// bucket, added to the encoder's scores.
#[derive(Debug, Clone, PartialEq)]
pub struct TableWeights {
    /// Feature templates, in model order (the hash depends on the position in this list); no lexicon
    /// templates (a hybrid model has no word list).
    pub templates: Vec<decoder::internal::features::Template>,
    /// The table has `2^bucket_bits` rows.
    pub bucket_bits: u8,
    /// `[2^bucket_bits][L]`.
    pub weights: Vec<f32>,
}

impl TableWeights {
    /// The features of the table, read with the encoder's normalisation `normalization`.
    pub fn feature_spec(&self, normalization: u8) -> crate::features::FeatureSpec {
        crate::features::FeatureSpec {
            normalization,
            ..crate::features::FeatureSpec::new(self.templates.clone(), self.bucket_bits)
        }
    }
}

/// A neural emission model: embeddings, convolutions, dense layer, and for a hybrid model an n-gram
/// table. The CRF transitions are the CRF layer's, kept apart (see [`crate::neural::export::CrfScores`]).
#[derive(Debug, Clone, PartialEq)]
pub struct NeuralWeights {
    /// Character normalisation before lookup (`decoder::internal::text::NORMALIZE_*` flags).
    pub normalization: u8,
    /// `[V]` normalised characters, strictly ascending; character `vocabulary[i]` reads embedding row
    /// `i + 1`, any other character row 0.
    pub vocabulary: Vec<char>,
    /// Embedding width `D`.
    pub dim: usize,
    /// `[V + 1][D]`: row 0 is the unknown character.
    pub char_embeddings: Vec<f32>,
    /// N-gram templates `(first offset, length)`: the characters `p + first .. p + first + length` of
    /// position `p`, hashed with the template's index into `B` buckets
    /// (`decoder::internal::neural::ngram_bucket`).
    pub ngram_templates: Vec<(i8, u8)>,
    /// Buckets `B` of the n-gram table.
    pub ngram_buckets: u32,
    /// `[B][D]`, shared by every template.
    pub ngram_embeddings: Vec<f32>,
    /// Up to 4 convolutions, in order.
    pub convs: Vec<ConvWeights>,
    /// The dense layer.
    pub dense: DenseWeights,
    /// The n-gram table of a hybrid model, whose row sums are added to the dense layer's scores
    /// (`None`: a neural model).
    pub table: Option<TableWeights>,
}

impl NeuralWeights {
    /// Number of tags `L`.
    pub fn num_tags(&self) -> usize {
        self.dense.bias.len()
    }

    /// Input channels of convolution `layer` (`convs.len()`: of the dense layer).
    pub fn in_channels(&self, layer: usize) -> usize {
        match layer {
            0 => self.dim,
            _ => self.convs[layer - 1].out_channels,
        }
    }

    /// The tensor whose length disagrees with the shapes, if one does.
    pub fn shape_error(&self) -> Option<String> {
        let v = self.vocabulary.len();
        let check = |name: &str, len: usize, expected: usize| {
            (len != expected).then(|| format!("{name} has {len} values, its shape needs {expected}"))
        };
        let mut errors = vec![
            check("char_embeddings", self.char_embeddings.len(), (v + 1) * self.dim),
            check("ngram_embeddings", self.ngram_embeddings.len(), self.ngram_buckets as usize * self.dim),
        ];
        for (i, c) in self.convs.iter().enumerate() {
            let name = format!("convs[{i}]");
            errors.push(check(
                &format!("{name}.weights"),
                c.weights.len(),
                c.out_channels * c.kernel * self.in_channels(i),
            ));
            errors.push(check(&format!("{name}.bias"), c.bias.len(), c.out_channels));
        }
        let last = self.in_channels(self.convs.len());
        errors.push(check("dense.weights", self.dense.weights.len(), self.num_tags() * last));
        if let Some(table) = &self.table {
            errors.push(check("table.weights", table.weights.len(), (1usize << table.bucket_bits) * self.num_tags()));
        }
        errors.into_iter().flatten().next()
    }
}
