using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Runtime;
using Pipelines;
using Pipelines.Models;
using Pipelines.Models.Generation;
using Pipelines.Models.Training;
using TorchSharp;
using static TorchSharp.torch;

[assembly: LoadableClass(typeof(CausalLanguageModelTransformer), null, typeof(SignatureLoadModel),
    "Causal language model", CausalLanguageModelTransformer.LoaderSignature)]
[assembly: LoadableClass(typeof(IRowMapper), typeof(CausalLanguageModelTransformer), null, typeof(SignatureLoadRowMapper),
    "Causal language model", CausalLanguageModelTransformer.LoaderSignature)]

namespace Pipelines;

/// <summary>
/// A pretrained GPT-2 style decoder with its tokenizer. As a transform it adds a sentence
/// embedding (mean of the last hidden states, usable as Features by any ML.NET trainer) and the
/// model's perplexity on each row; it also generates text. Saves into ML.NET model zips.
/// </summary>
public sealed class CausalLanguageModelTransformer : RowToRowTransformerBase, IDisposable, ITrainedTransformer
{
    internal const string LoaderSignature = "PipelinesCausalLM";
    private readonly string _tokenColumn;
    private readonly string _embeddingColumn;
    private readonly string _perplexityColumn;

    /// <summary>The decoder (in eval mode).</summary>
    public GptLanguageModel Model => _model.Model;

    private readonly ModelOwnership<GptLanguageModel> _model;
    /// <summary>The tokenizer that produced the training tokens.</summary>
    public TextTokenizer Tokenizer { get; }
    /// <summary>The architecture.</summary>
    public TransformerConfig Config => Model.Config;
    /// <summary>How training went (loss curve, validations); null for a model loaded from a zip.</summary>
    public TrainingResult? Training { get; }

    internal CausalLanguageModelTransformer(IHost host, string tokenColumn, string embeddingColumn, string perplexityColumn,
        GptLanguageModel model, TextTokenizer tokenizer, TrainingResult? training) : base(host)
    {
        (_tokenColumn, _embeddingColumn, _perplexityColumn) = (tokenColumn, embeddingColumn, perplexityColumn);
        (Tokenizer, Training) = (tokenizer, training);
        _model = new ModelOwnership<GptLanguageModel>(model, nameof(CausalLanguageModelTransformer));
        Model.eval();
    }

    internal static SchemaShape OutputSchema(SchemaShape input, string embedding, string perplexity)
    {
        var columns = input.ToDictionary(c => c.Name);
        columns[embedding] = new SchemaShape.Column(embedding, SchemaShape.Column.VectorKind.Vector, NumberDataViewType.Single, false);
        columns[perplexity] = new SchemaShape.Column(perplexity, SchemaShape.Column.VectorKind.Scalar, NumberDataViewType.Single, false);
        return new SchemaShape(columns.Values);
    }

    /// <summary>Continues <paramref name="prompt"/> and returns only the generated text.</summary>
    public string Generate(string prompt, GenerationOptions? options = null)
    {
        var ids = Tokenizer.Encode(prompt, maxLength: int.MaxValue, addSpecialTokens: false).Ids;
        if (ids.Length == 0) ids = [Tokenizer.SepId];
        // The model is in eval mode and generation keeps its state in locals: threads may call this at once.
        return Tokenizer.Decode(TextGeneration.Generate(Model, ids, options ?? new GenerationOptions()));
    }

    /// <summary>Embedding and perplexity of one token sequence (truncated to the model's context).</summary>
    internal (float[] Embedding, float Perplexity) Score(int[] tokens)
    {
        var length = Math.Min(tokens.Length, Config.MaxSequenceLength);
        if (length == 0) return (new float[Config.Hidden], float.NaN);
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var device = Model.parameters().First().device;
        var ids = tensor(tokens[..length].Select(i => (long)i).ToArray()).unsqueeze(0).to(device);
        var hidden = Model.Body.forward(ids);                                                      // (1, T, C)
        var embedding = hidden.mean([1])[0].to(ScalarType.Float32).cpu().data<float>().ToArray();
        if (length < 2) return (embedding, float.NaN);
        var logits = Model.Head(hidden);
        var loss = GptLanguageModel.Loss(logits[.., ..^1], ids[.., 1..]).item<float>();
        return (embedding, MathF.Exp(loss));
    }

    // Persistence: column names, then the architecture, tokenizer and weights streams.
    private static VersionInfo GetVersionInfo() => ModelStreams.Version("PLCAUSLM", LoaderSignature, typeof(CausalLanguageModelTransformer));

    /// <inheritdoc/>
    protected override void SaveModel(ModelSaveContext ctx)
    {
        ctx.SetVersionInfo(GetVersionInfo());
        ctx.SaveNonEmptyString(_tokenColumn);
        ctx.SaveNonEmptyString(_embeddingColumn);
        ctx.SaveNonEmptyString(_perplexityColumn);
        ModelStreams.SaveConfig(ctx, Config);
        ModelStreams.SaveTokenizer(ctx, Tokenizer);
        ModelStreams.SaveWeights(ctx, Model);
    }

    private static CausalLanguageModelTransformer Create(IHostEnvironment env, ModelLoadContext ctx)
    {
        ctx.CheckAtModel(GetVersionInfo());
        var host = env.Register(nameof(CausalLanguageModelTransformer));
        var (token, embedding, perplexity) = (ctx.LoadNonEmptyString(), ctx.LoadNonEmptyString(), ctx.LoadNonEmptyString());
        var config = ModelStreams.LoadConfig(ctx);
        var tokenizer = ModelStreams.LoadTokenizer(ctx);
        var model = new GptLanguageModel(config);
        ModelStreams.LoadWeights(host, ctx, model, "Causal language model (loaded)");
        return new CausalLanguageModelTransformer(host, token, embedding, perplexity, model, tokenizer, null);
    }

    private static IRowMapper Create(IHostEnvironment env, ModelLoadContext ctx, DataViewSchema inputSchema) =>
        Create(env, ctx).MakeRowMapper(inputSchema);

    /// <inheritdoc/>
    protected override IRowMapper MakeRowMapper(DataViewSchema schema) =>
        new EmbeddingMapper<float>(Host.Register("Mapper"), schema, this, _tokenColumn, _embeddingColumn, Config.Hidden,
            new DataViewSchema.DetachedColumn(_perplexityColumn, NumberDataViewType.Single), Score, SaveModel);

    /// <summary>Releases the model's native memory.</summary>
    public void Dispose() => _model.Dispose();
}
