using Microsoft.ML;
using Microsoft.ML.Data;
using Pipelines.Models;
using TorchSharp;

namespace Pipelines.Examples.Common;

/// <summary>
/// The pretrained encoder used without fine-tuning: its embedding next to FeaturizeText's n-grams as SDCA's
/// features, alone or averaged with the fine-tuned classifier (late fusion).
/// </summary>
public static partial class LabelEfficiency
{
    /// <summary>
    /// FeaturizeText's n-grams and the pretrained encoder's mean-pooled embedding (not fine-tuned) side by side as
    /// SDCA's features, trained on <paramref name="labelled"/>: every word of the mail, and what pretraining learnt of
    /// it (<see cref="LabelEfficiencyOptions.EmbeddingChunkWords"/>). The probabilities of <paramref name="test"/>, in order;
    /// <paramref name="testEmbeddings"/> are its <see cref="Embeddings"/>, computed once per experiment (the encoder is frozen).
    /// </summary>
    public static float[] FeatureProbabilities(MLContext ml, Pretrained pretrained, IReadOnlyList<Email> labelled, IReadOnlyList<Email> test,
        float[][] testEmbeddings, LabelEfficiencyOptions options)
    {
        var model = FeaturesClassifier(ml, options.EmbeddingCopies).Fit(EmbeddedRows(ml, labelled, Embeddings(ml, pretrained, labelled, options)));
        return model.Transform(EmbeddedRows(ml, test, testEmbeddings)).GetColumn<float>("Probability").ToArray();
    }

    /// <summary>SDCA on FeaturizeText's n-grams of Text and <paramref name="copies"/> copies of the unit-length Embedding (see <see cref="LabelEfficiencyOptions.EmbeddingCopies"/>).</summary>
    public static IEstimator<ITransformer> FeaturesClassifier(MLContext ml, int copies) =>
        // Each part a unit vector, as FeaturizeText's n-grams already are: SDCA weighs them alike, and
        // converges (min-max scaling of the 37,000 columns left it iterating for minutes on 49 rows).
        ml.Transforms.Text.FeaturizeText("NGrams", nameof(EmbeddedText.Text))
            .Append(ml.Transforms.NormalizeLpNorm("UnitEmbedding", nameof(EmbeddedText.Embedding)))
            .Append(ml.Transforms.Concatenate("Features", [.. Enumerable.Repeat("UnitEmbedding", copies), "NGrams"]))
            .Append(ml.BinaryClassification.Trainers.SdcaLogisticRegression(labelColumnName: nameof(EmbeddedText.Label)));

    /// <summary>Text, Label and an Embedding vector column (of the vectors' length) per row.</summary>
    public static IDataView EmbeddedRows(MLContext ml, IReadOnlyList<Email> rows, IReadOnlyList<float[]> embeddings)
    {
        var schema = SchemaDefinition.Create(typeof(EmbeddedText));
        schema[nameof(EmbeddedText.Embedding)].ColumnType = new VectorDataViewType(NumberDataViewType.Single, embeddings[0].Length);
        return ml.Data.LoadFromEnumerable(rows.Zip(embeddings, (e, v) => new EmbeddedText { Text = e.Text, Label = e.Label, Embedding = v }).ToList(), schema);
    }

    /// <summary>
    /// The pretrained encoder's mean-pooled embedding of each text: of its start, or with
    /// <see cref="LabelEfficiencyOptions.EmbeddingChunkWords"/> the mean over its chunks (zeros for a text without words).
    /// </summary>
    public static float[][] Embeddings(MLContext ml, Pretrained pretrained, IReadOnlyList<Email> rows, LabelEfficiencyOptions options)
    {
        var pieces = Pieces(rows, options.EmbeddingChunkWords);
        var data = ml.Data.LoadFromEnumerable(pieces.Select(p => new Email { Text = p.Text }).ToList());
        var tokenize = ml.Transforms.Text.TokenizeSubwords("Tokens", nameof(Email.Text), pretrained.Tokenizer, options.MaxLength).Fit(data);
        var vectors = options.EmbeddingLayers > 0
            ? LayerMeans(pretrained, tokenize.Transform(data).GetColumn<int[]>("Tokens").ToArray(), options.EmbeddingLayers)
            : tokenize.Append(pretrained.Model).Transform(data).GetColumn<float[]>("Embedding").ToArray();
        return MeanByRow(pieces.Select(p => p.Row).ToList(), vectors, rows.Count, vectors.FirstOrDefault()?.Length ?? pretrained.Model.Config.Hidden);
    }

    /// <summary>
    /// Per token sequence, the mean over its tokens of each of the encoder's last <paramref name="layers"/> blocks'
    /// outputs, concatenated (BERT's feature-based recipe reads several layers, not only the last).
    /// </summary>
    public static float[][] LayerMeans(Pretrained pretrained, IReadOnlyList<int[]> tokens, int layers)
    {
        var bert = pretrained.Model.Model.Bert;
        if (bert.Config.PreLayerNorm) throw new NotSupportedException("Pre-LN blocks' outputs are not normalized before the final LayerNorm; read the Embedding column instead.");
        var modules = bert.named_modules().ToDictionary(m => m.name, m => m.module);
        var embeddings = (BertEmbeddings)modules["embeddings"];
        var blocks = Enumerable.Range(0, bert.Config.Layers).Select(i => (BertLayer)modules[$"encoder.layer.{i}"]).ToArray();
        var device = bert.parameters().First().device;
        var pad = pretrained.Tokenizer.PadId;
        var result = new float[tokens.Count][];
        for (var start = 0; start < tokens.Count; start += 32)
        {
            using var scope = torch.NewDisposeScope();
            using var noGrad = torch.no_grad();
            var batch = tokens.Skip(start).Take(32).Select(t => t.Length > 0 ? t : [pad]).ToArray();
            var width = batch.Max(t => t.Length);
            var ids = new long[batch.Length * width];
            var real = new long[batch.Length * width];
            Array.Fill(ids, pad);
            for (var j = 0; j < batch.Length; j++)
                for (var t = 0; t < batch[j].Length; t++) (ids[j * width + t], real[j * width + t]) = (batch[j][t], 1);
            var idTensor = torch.tensor(ids, [batch.Length, width]).to(device);
            var mask = torch.tensor(real, [batch.Length, width]).to(device);
            var keep = BertModel.KeyMask(mask);
            var x = embeddings.forward(idTensor, null, mask);
            var pooled = new List<torch.Tensor>();
            for (var i = 0; i < blocks.Length; i++)
            {
                x = blocks[i].forward(x, keep);
                if (i >= blocks.Length - layers) pooled.Add(SequencePooling.MaskedMean(x, mask));
            }
            var flat = torch.cat(pooled, 1).to(torch.ScalarType.Float32).cpu().data<float>().ToArray();
            var size = flat.Length / batch.Length;
            for (var j = 0; j < batch.Length; j++) result[start + j] = flat[(j * size)..((j + 1) * size)];
        }
        return result;
    }

    /// <summary>Each row's text (<paramref name="words"/> &lt;= 0), or its <paramref name="words"/>-word chunks in order, with the index of its row.</summary>
    public static List<(int Row, string Text)> Pieces(IReadOnlyList<Email> rows, int words) => words <= 0
        ? rows.Select((e, i) => (i, e.Text)).ToList()
        : rows.SelectMany((e, i) => e.Text.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries).Chunk(words).Select(c => (i, string.Join(' ', c)))).ToList();

    /// <summary>Per row, the mean of the vectors whose <paramref name="owners"/> entry names it; zeros for a row that has none.</summary>
    public static float[][] MeanByRow(IReadOnlyList<int> owners, IReadOnlyList<float[]> vectors, int rows, int width)
    {
        var sums = Enumerable.Range(0, rows).Select(_ => new float[width]).ToArray();
        var counts = new int[rows];
        foreach (var (row, vector) in owners.Zip(vectors))
        {
            for (var k = 0; k < width; k++) sums[row][k] += vector[k];
            counts[row]++;
        }
        for (var r = 0; r < rows; r++)
            for (var k = 0; counts[r] > 1 && k < width; k++) sums[r][k] /= counts[r];
        return sums;
    }

    private sealed class EmbeddedText
    {
        public string Text { get; set; } = "";
        public bool Label { get; set; }
        public float[] Embedding { get; set; } = [];
    }

    /// <summary>
    /// Late fusion: the mean of the fine-tuned classifier's probability (the mail's start, read in context) and
    /// <see cref="FeatureProbabilities"/>' (every word), both trained on the same labels; F1 at 0.5 and AUC on <paramref name="test"/>.
    /// </summary>
    public static (double F1, double Auc) Fusion(MLContext ml, Pretrained pretrained, IReadOnlyList<Email> labelled, IReadOnlyList<Email> test, IDataView testRead,
        float[][] testEmbeddings, int seed, LabelEfficiencyOptions options)
    {
        var model = Fit(ml, pretrained, ml.Data.LoadFromEnumerable(Read(labelled, options)), labelled.Count, seed, options, fromPretrained: true);
        var fineTuned = model.Transform(testRead).GetColumn<float>("Probability").ToArray();
        model.LastTransformer.Dispose();
        return Evaluate(ml, test, fineTuned.Zip(FeatureProbabilities(ml, pretrained, labelled, test, testEmbeddings, options), (a, b) => (a + b) / 2));
    }

    /// <summary>ML.NET's binary evaluation of probabilities given in <paramref name="test"/>'s order (label at p >= 0.5).</summary>
    public static (double F1, double Auc) Evaluate(MLContext ml, IReadOnlyList<Email> test, IEnumerable<float> probabilities)
    {
        var rows = test.Zip(probabilities, (e, p) => new Scored
        {
            Label = e.Label, Probability = p, PredictedLabel = p >= 0.5f,
            Score = MathF.Log(Math.Max(p, 1e-7f) / Math.Max(1 - p, 1e-7f)),
        }).ToList();
        if (rows.Count != test.Count) throw new ArgumentException($"{rows.Count} probabilities for {test.Count} test rows.", nameof(probabilities));
        var metrics = ml.BinaryClassification.Evaluate(ml.Data.LoadFromEnumerable(rows));
        return (metrics.F1Score, metrics.AreaUnderRocCurve);
    }

    private sealed class Scored
    {
        public bool Label { get; set; }
        public float Score { get; set; }
        public float Probability { get; set; }
        public bool PredictedLabel { get; set; }
    }
}
