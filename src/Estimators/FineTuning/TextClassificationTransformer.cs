using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Runtime;
using Pipelines;
using Pipelines.Models;
using Pipelines.Models.Onnx;
using Pipelines.Models.Training;
using TorchSharp;
using static TorchSharp.torch;

[assembly: LoadableClass(typeof(TextClassificationTransformer), null, typeof(SignatureLoadModel),
    "Transformer text classifier", TextClassificationTransformer.LoaderSignature)]
[assembly: LoadableClass(typeof(IRowMapper), typeof(TextClassificationTransformer), null, typeof(SignatureLoadRowMapper),
    "Transformer text classifier", TextClassificationTransformer.LoaderSignature)]

namespace Pipelines;

/// <summary>
/// A fine-tuned transformer text classifier. Binary: Score (log-odds), Probability and
/// PredictedLabel (Boolean). Multiclass: Score (class probabilities) and PredictedLabel (a key
/// with the training label's names). Saves into ML.NET model zips.
/// </summary>
public sealed class TextClassificationTransformer : ModelTransformerBase<BertForSequenceClassification>
{
    internal const string LoaderSignature = "PipelinesTextClassifier";
    private readonly bool _binary;
    private readonly string _tokenColumn;
    private readonly string? _segmentColumn;
    private readonly string[] _classNames;
    private readonly int _padId;
    private readonly int _maxLength;
    private readonly Pooling _pooling;

    /// <summary>Class names in class-index order.</summary>
    public IReadOnlyList<string> ClassNames => _classNames;

    internal TextClassificationTransformer(IHost host, bool binary, string tokenColumn, string? segmentColumn, string[] classNames,
        int padId, int maxLength, Pooling pooling, BertForSequenceClassification model, TrainingResult? training)
        : base(host, model, nameof(TextClassificationTransformer), training)
    {
        (_binary, _tokenColumn, _segmentColumn, _classNames, _padId, _maxLength, _pooling) =
            (binary, tokenColumn, segmentColumn, classNames, padId, maxLength, pooling);
    }

    internal static IEnumerable<SchemaShape.Column> OutputShape(bool binary, SchemaShape.Column label)
    {
        if (binary)
        {
            yield return new SchemaShape.Column("Score", SchemaShape.Column.VectorKind.Scalar, NumberDataViewType.Single, false);
            yield return new SchemaShape.Column("Probability", SchemaShape.Column.VectorKind.Scalar, NumberDataViewType.Single, false);
            yield return new SchemaShape.Column("PredictedLabel", SchemaShape.Column.VectorKind.Scalar, BooleanDataViewType.Instance, false);
        }
        else
        {
            yield return new SchemaShape.Column("Score", SchemaShape.Column.VectorKind.Vector, NumberDataViewType.Single, false);
            yield return new SchemaShape.Column("PredictedLabel", SchemaShape.Column.VectorKind.Scalar, label.ItemType, true, label.Annotations);
        }
    }

    /// <summary>
    /// Writes this classifier as a Hugging Face model directory that transformers loads with
    /// <c>AutoModelForSequenceClassification.from_pretrained</c>: BertForSequenceClassification (or RoBERTa's,
    /// when the encoder numbers positions from the padding id), id2label/label2id from <see cref="ClassNames"/>,
    /// and the files of <paramref name="tokenizer"/> (the pipeline's, which made the token column; null: none).
    /// <see cref="FromHuggingFace"/> reads it back with the same predictions.
    /// </summary>
    /// <exception cref="ArgumentException">The classifier pools the mean of its tokens (transformers' classifiers read the first
    /// token through the pooler: fine-tune with <see cref="Pooling.FirstToken"/>), has bottleneck adapters, or the tokenizer is another.</exception>
    /// <exception cref="NotSupportedException">The tokenizer has no Hugging Face files (see <see cref="TextTokenizer.SaveHuggingFaceFiles"/>).</exception>
    public void SaveAsHuggingFace(string directory, TextTokenizer? tokenizer = null) =>
        HuggingFaceTaskFiles.Save(Model, Model.Bert.Config, _classNames, _padId, directory, tokenizer);

    /// <summary>
    /// A classifier read whole from a Hugging Face …ForSequenceClassification directory (bert, roberta), head
    /// included, to score without fine-tuning: binary when it has two labels (Score, Probability of the second,
    /// PredictedLabel), else multiclass; <see cref="ClassNames"/> are its id2label. It reads the token column
    /// <paramref name="tokenColumnName"/>, made by the directory's tokenizer (<see cref="EncoderSource.HuggingFaceTokenizer"/>).
    /// </summary>
    /// <exception cref="InvalidDataException">The directory holds another architecture, a one-output regressor, or does not fit its config.</exception>
    public static TextClassificationTransformer FromHuggingFace(string directory, string tokenColumnName = "Tokens", string? segmentColumnName = null)
    {
        var loaded = Models.HuggingFace.HuggingFaceImport.LoadSequenceClassifier(directory);
        if (loaded.Labels.Count < 2)
        {
            loaded.Model.Dispose();
            throw new InvalidDataException($"'{directory}' holds a regressor (one output); read it with TextRegressionTransformer.FromHuggingFace.");
        }
        var (padId, maxLength) = HuggingFaceTaskFiles.Inputs(loaded.Config);
        return new TextClassificationTransformer(HuggingFaceTaskFiles.Host(nameof(TextClassificationTransformer)), loaded.Labels.Count == 2,
            tokenColumnName, segmentColumnName, [.. loaded.Labels], padId, maxLength, Pooling.FirstToken, loaded.Model, null);
    }

    internal override void SaveOnnx(Stream stream) =>
        OnnxExport.Save(Model, new OnnxInputs(_padId, _maxLength, _segmentColumn is not null), stream,
            OnnxMetadata("text-classifier", _padId, _maxLength, ("binary", _binary ? "true" : "false"),
                ("class_names", System.Text.Json.JsonSerializer.Serialize(_classNames))));

    private static VersionInfo GetVersionInfo() => ModelStreams.Version("PLTXTCLS", LoaderSignature, typeof(TextClassificationTransformer));

    /// <inheritdoc/>
    protected override void SaveModel(ModelSaveContext ctx)
    {
        ctx.SetVersionInfo(GetVersionInfo());
        ctx.Writer.Write(_binary);
        ctx.SaveNonEmptyString(_tokenColumn);
        ctx.SaveStringOrNull(_segmentColumn);
        ctx.Writer.Write(_classNames.Length);
        foreach (var name in _classNames) ctx.SaveString(name);
        ctx.Writer.Write(_padId);
        ctx.Writer.Write(_maxLength);
        ctx.Writer.Write((int)_pooling);
        ModelStreams.SaveConfig(ctx, Model.Bert.Config);
        ModelStreams.SaveWeights(ctx, Model);
    }

    private static TextClassificationTransformer Create(IHostEnvironment env, ModelLoadContext ctx)
    {
        ctx.CheckAtModel(GetVersionInfo());
        var host = env.Register(nameof(TextClassificationTransformer));
        var binary = ctx.Reader.ReadBoolean();
        var tokens = ctx.LoadNonEmptyString();
        var segments = ctx.LoadStringOrNull();
        var count = ctx.Reader.ReadInt32();
        if (count is < 2 or > 1_000_000) throw new InvalidDataException($"Text classifier zip entry declares {count} classes.");
        var names = Enumerable.Range(0, count).Select(_ => ctx.LoadString()).ToArray();
        var (padId, maxLength, pooling) = (ctx.Reader.ReadInt32(), ctx.Reader.ReadInt32(), (Pooling)ctx.Reader.ReadInt32());
        var config = ModelStreams.LoadConfig(ctx);
        var model = new BertForSequenceClassification(config, count, pooling);
        ModelStreams.LoadWeights(host, ctx, model, "Text classifier (loaded)");
        return new TextClassificationTransformer(host, binary, tokens, segments, names, padId, maxLength, pooling, model, null);
    }

    private static IRowMapper Create(IHostEnvironment env, ModelLoadContext ctx, DataViewSchema inputSchema) =>
        Create(env, ctx).MakeRowMapper(inputSchema, null);

    /// <inheritdoc/>
    private protected override IRowMapper MakeRowMapper(DataViewSchema schema, IDataView? batchInput) =>
        Mapper(schema, new Scoring(this, schema), batchInput);

    private sealed class Scoring(TextClassificationTransformer parent, DataViewSchema schema)
        : SequenceScoring<BertForSequenceClassification, float[]>(parent, schema, parent._tokenColumn, parent._segmentColumn, parent._padId, parent._maxLength)
    {
        public override DataViewSchema.DetachedColumn[] OutputColumns => ClassifierOutputs.Columns(parent._binary, parent._classNames);

        // Class probabilities; a row with no tokens gets the uniform distribution.
        public override float[][] Score(IReadOnlyList<SequenceInput> batch) =>
            Outputs(batch, logits => nn.functional.softmax(logits, -1), Enumerable.Repeat(1f / parent._classNames.Length, parent._classNames.Length).ToArray());

        public override Delegate[] Getters(Func<float[]> current, Func<int, bool> activeOutput) => ClassifierOutputs.Getters(parent._binary, current);
    }
}
