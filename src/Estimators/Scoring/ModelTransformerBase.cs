using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Runtime;
using static TorchSharp.torch;

namespace Pipelines;

/// <summary>
/// The base of this library's model transformers: owns the TorchSharp model (in eval mode, freed
/// by <see cref="Dispose"/>), scores rows in batches when <see cref="Transform"/>'s output is read
/// by a cursor (evaluators, CrossValidate, anything reading many rows) and one row at a time through
/// a PredictionEngine. Batched and one-row results are equal within float tolerance.
/// </summary>
/// <typeparam name="TModel">The TorchSharp model.</typeparam>
public abstract class ModelTransformerBase<TModel> : RowToRowTransformerBase, ITransformer, IDisposable, ITrainedTransformer, IOnnxExportable
    where TModel : nn.Module
{
    private readonly ModelOwnership<TModel> _model;

    private protected ModelTransformerBase(IHost host, TModel model, string owner, TrainingResult? training) : base(host)
    {
        _model = new ModelOwnership<TModel>(model, owner);
        Training = training;
        Model.eval();
    }

    /// <summary>The model, in eval mode (LoRA adapters merged).</summary>
    public TModel Model => _model.Model;

    /// <summary>How the last training run went; null for a model loaded from a zip.</summary>
    public TrainingResult? Training { get; }

    /// <summary>
    /// Rows per forward pass when <see cref="Transform"/>'s output is read by a cursor (32 by
    /// default; a GPU wants more). Not saved in the zip: it is how this process scores, not the model.
    /// </summary>
    public int ScoringBatchSize
    {
        get => _scoringBatchSize;
        set
        {
            OptionChecks.Require(value >= 1, nameof(ScoringBatchSize), value, "must be positive");
            _scoringBatchSize = value;
        }
    }

    private int _scoringBatchSize = 32;

    /// <summary>The device the model's weights are on, where its inputs go.</summary>
    private protected Device Device => Model.parameters().First().device;

    /// <summary>
    /// The input with the model's output columns added. Cursors reading those columns score rows in
    /// length-sorted batches of <see cref="ScoringBatchSize"/>; the rows keep their order and their
    /// values equal scoring each row alone within float tolerance.
    /// </summary>
    public new IDataView Transform(IDataView input)
    {
        Host.CheckValue(input, nameof(input));
        _ = Model; // a disposed model refuses here, not at the first cursor
        return new BatchedScoringView(Host, input, MakeRowMapper);
    }

    /// <inheritdoc/>
    protected sealed override IRowMapper MakeRowMapper(DataViewSchema schema) => MakeRowMapper(schema, null);

    /// <summary>The mapper for <paramref name="schema"/>: one row at a time, or batched over <paramref name="batchInput"/>.</summary>
    private protected abstract IRowMapper MakeRowMapper(DataViewSchema schema, IDataView? batchInput);

    /// <summary>A mapper running <paramref name="scoring"/>, saved by this transformer's SaveModel.</summary>
    private protected IRowMapper Mapper<TInput, TResult>(DataViewSchema schema, RowScoring<TInput, TResult> scoring, IDataView? batchInput) =>
        new ScoringMapper<TInput, TResult>(Host.Register("Mapper"), schema, this, scoring, batchInput, ScoringBatchSize, SaveModel);

    /// <summary>Writes the network as an ONNX graph; applications call <see cref="ModelOperationsCatalogExtensions.ExportToOnnx(ModelOperationsCatalog, ITransformer, Stream)"/>.</summary>
    internal abstract void SaveOnnx(Stream stream);

    void IOnnxExportable.SaveOnnx(Stream stream) => SaveOnnx(stream);

    /// <summary>The metadata every exported graph carries: what it is and how its input is made.</summary>
    private protected static Dictionary<string, string> OnnxMetadata(string kind, long padId, int maxLength, params (string Key, string Value)[] more)
    {
        var metadata = new Dictionary<string, string> { ["pipelines.kind"] = kind, ["pipelines.pad_id"] = $"{padId}", ["pipelines.max_length"] = $"{maxLength}" };
        foreach (var (key, value) in more) metadata[$"pipelines.{key}"] = value;
        return metadata;
    }

    /// <summary>Releases the model's native memory; every later use throws <see cref="ObjectDisposedException"/>.</summary>
    public void Dispose() => _model.Dispose();
}

/// <summary>A transformer whose network exports to ONNX.</summary>
internal interface IOnnxExportable
{
    void SaveOnnx(Stream stream);
}
