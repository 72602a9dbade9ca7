using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Runtime;
using Pipelines;
using Pipelines.Models;
using Pipelines.Models.Onnx;
using Pipelines.Models.Training;

[assembly: LoadableClass(typeof(TextRegressionTransformer), null, typeof(SignatureLoadModel),
    "Transformer text regressor", TextRegressionTransformer.LoaderSignature)]
[assembly: LoadableClass(typeof(IRowMapper), typeof(TextRegressionTransformer), null, typeof(SignatureLoadRowMapper),
    "Transformer text regressor", TextRegressionTransformer.LoaderSignature)]

namespace Pipelines;

/// <summary>A fine-tuned transformer text regressor: Score (Single), on the label's scale. Saves into ML.NET model zips.</summary>
public sealed class TextRegressionTransformer : ModelTransformerBase<BertForSequenceClassification>
{
    internal const string LoaderSignature = "PipelinesTextRegressor";
    private readonly string _tokenColumn;
    private readonly string? _segmentColumn;
    private readonly int _padId;
    private readonly int _maxLength;
    private readonly Pooling _pooling;

    internal TextRegressionTransformer(IHost host, string tokenColumn, string? segmentColumn, int padId, int maxLength, Pooling pooling,
        BertForSequenceClassification model, TrainingResult? training)
        : base(host, model, nameof(TextRegressionTransformer), training)
    {
        (_tokenColumn, _segmentColumn, _padId, _maxLength, _pooling) = (tokenColumn, segmentColumn, padId, maxLength, pooling);
    }

    /// <summary>
    /// Writes this regressor as a Hugging Face model directory (BertForSequenceClassification or RoBERTa's with one
    /// label, <c>problem_type</c> regression; its output is in the label's units) and the files of <paramref name="tokenizer"/>.
    /// </summary>
    /// <exception cref="ArgumentException">The regressor pools the mean of its tokens (fine-tune with <see cref="Pooling.FirstToken"/>) or has bottleneck adapters.</exception>
    public void SaveAsHuggingFace(string directory, TextTokenizer? tokenizer = null) =>
        HuggingFaceTaskFiles.Save(Model, Model.Bert.Config, null, _padId, directory, tokenizer);

    /// <summary>A regressor read whole from a Hugging Face …ForSequenceClassification directory with one label.</summary>
    /// <exception cref="InvalidDataException">The directory holds a classifier of several labels or another architecture.</exception>
    public static TextRegressionTransformer FromHuggingFace(string directory, string tokenColumnName = "Tokens", string? segmentColumnName = null)
    {
        var loaded = Models.HuggingFace.HuggingFaceImport.LoadSequenceClassifier(directory);
        if (loaded.Labels.Count != 1)
        {
            loaded.Model.Dispose();
            throw new InvalidDataException($"'{directory}' holds a classifier of {loaded.Labels.Count} labels; read it with TextClassificationTransformer.FromHuggingFace.");
        }
        var (padId, maxLength) = HuggingFaceTaskFiles.Inputs(loaded.Config);
        return new TextRegressionTransformer(HuggingFaceTaskFiles.Host(nameof(TextRegressionTransformer)), tokenColumnName, segmentColumnName, padId, maxLength,
            Pooling.FirstToken, loaded.Model, null);
    }

    internal override void SaveOnnx(Stream stream) =>
        OnnxExport.Save(Model, new OnnxInputs(_padId, _maxLength, _segmentColumn is not null), stream,
            OnnxMetadata("text-regressor", _padId, _maxLength));

    private static VersionInfo GetVersionInfo() => ModelStreams.Version("PLTXTREG", LoaderSignature, typeof(TextRegressionTransformer));

    /// <inheritdoc/>
    protected override void SaveModel(ModelSaveContext ctx)
    {
        ctx.SetVersionInfo(GetVersionInfo());
        ctx.SaveNonEmptyString(_tokenColumn);
        ctx.SaveStringOrNull(_segmentColumn);
        ctx.Writer.Write(_padId);
        ctx.Writer.Write(_maxLength);
        ctx.Writer.Write((int)_pooling);
        ModelStreams.SaveConfig(ctx, Model.Bert.Config);
        ModelStreams.SaveWeights(ctx, Model);
    }

    private static TextRegressionTransformer Create(IHostEnvironment env, ModelLoadContext ctx)
    {
        ctx.CheckAtModel(GetVersionInfo());
        var host = env.Register(nameof(TextRegressionTransformer));
        var tokens = ctx.LoadNonEmptyString();
        var segments = ctx.LoadStringOrNull();
        var (padId, maxLength, pooling) = (ctx.Reader.ReadInt32(), ctx.Reader.ReadInt32(), (Pooling)ctx.Reader.ReadInt32());
        var model = new BertForSequenceClassification(ModelStreams.LoadConfig(ctx), 1, pooling);
        ModelStreams.LoadWeights(host, ctx, model, "Text regressor (loaded)");
        return new TextRegressionTransformer(host, tokens, segments, padId, maxLength, pooling, model, null);
    }

    private static IRowMapper Create(IHostEnvironment env, ModelLoadContext ctx, DataViewSchema inputSchema) =>
        Create(env, ctx).MakeRowMapper(inputSchema, null);

    /// <inheritdoc/>
    private protected override IRowMapper MakeRowMapper(DataViewSchema schema, IDataView? batchInput) =>
        Mapper(schema, new Scoring(this, schema), batchInput);

    private sealed class Scoring(TextRegressionTransformer parent, DataViewSchema schema)
        : SequenceScoring<BertForSequenceClassification, float[]>(parent, schema, parent._tokenColumn, parent._segmentColumn, parent._padId, parent._maxLength)
    {
        public override DataViewSchema.DetachedColumn[] OutputColumns => [new("Score", NumberDataViewType.Single)];

        // A row with no tokens scores NaN: there is nothing to predict from.
        public override float[][] Score(IReadOnlyList<SequenceInput> batch) => Outputs(batch, values => values, [float.NaN]);

        public override Delegate[] Getters(Func<float[]> current, Func<int, bool> activeOutput) =>
            [(ValueGetter<float>)((ref float v) => v = current()[0])];
    }
}
