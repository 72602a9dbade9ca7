using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Runtime;
using Pipelines;
using Pipelines.Models;
using Pipelines.Models.Onnx;
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
public sealed class CausalLanguageModelTransformer : ModelTransformerBase<GptLanguageModel>
{
    internal const string LoaderSignature = "PipelinesCausalLM";
    private readonly string _tokenColumn;
    private readonly string _embeddingColumn;
    private readonly string _perplexityColumn;

    /// <summary>The tokenizer that produced the training tokens.</summary>
    public TextTokenizer Tokenizer { get; }
    /// <summary>The architecture.</summary>
    public TransformerConfig Config => Model.Config;

    internal CausalLanguageModelTransformer(IHost host, string tokenColumn, string embeddingColumn, string perplexityColumn,
        GptLanguageModel model, TextTokenizer tokenizer, TrainingResult? training)
        : base(host, model, nameof(CausalLanguageModelTransformer), training)
    {
        (_tokenColumn, _embeddingColumn, _perplexityColumn) = (tokenColumn, embeddingColumn, perplexityColumn);
        Tokenizer = tokenizer;
    }

    /// <summary>
    /// The causal language model in a model zip (alone or in a chain), for example to continue its
    /// pretraining on new text (<see cref="CausalLanguageModelOptions.Base"/>). Loaded on the CPU.
    /// </summary>
    /// <exception cref="FileNotFoundException">There is no file at <paramref name="path"/>.</exception>
    /// <exception cref="InvalidDataException">The zip holds no causal language model.</exception>
    public static CausalLanguageModelTransformer FromZip(string path) => ModelZips.Load<CausalLanguageModelTransformer>(path, "causal language model");

    /// <summary>
    /// Writes this model and its tokenizer as a Hugging Face GPT2LMHeadModel directory that transformers loads with
    /// <c>AutoModelForCausalLM.from_pretrained</c>; the tokenizer's separator is <c>eos_token_id</c>.
    /// </summary>
    /// <exception cref="NotSupportedException">The tokenizer has no Hugging Face files (WordPiece and byte-level BPE have).</exception>
    public void SaveAsHuggingFace(string directory) => HuggingFaceTaskFiles.Save(Model, new Models.HuggingFace.HuggingFaceConfig
    {
        ModelType = Models.HuggingFace.HuggingFaceModelType.Gpt2, Transformer = Config, EosTokenId = Tokenizer.SepId, BosTokenId = Tokenizer.ClsId,
    }, directory, Tokenizer);

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

    /// <summary>Embedding and perplexity of each token sequence (cut to the model's context), from one batch.</summary>
    internal (float[] Embedding, float Perplexity)[] Score(IReadOnlyList<int[]> rows)
    {
        var results = new (float[], float)[rows.Count];
        var scored = Enumerable.Range(0, rows.Count).Where(i => rows[i].Length > 0).ToArray();
        foreach (var i in Enumerable.Range(0, rows.Count).Except(scored)) results[i] = (new float[Config.Hidden], float.NaN);
        if (scored.Length == 0) return results;
        var tokens = scored.Select(i => TokenBatch.Cut(rows[i], Config.MaxSequenceLength)).ToArray();
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        // Right padding: causal attention never lets a real token see the padding after it.
        var (ids, mask) = TokenBatch.Pad(tokens, Tokenizer.PadId, Device);
        var hidden = Model.Body.forward(ids);                                                      // (B, T, C)
        var embeddings = TokenBatch.Rows(SequencePooling.MaskedMean(hidden, mask));
        var perplexities = Enumerable.Repeat(float.NaN, scored.Length).ToArray();
        if (ids.shape[1] >= 2)
        {
            var targets = ids[.., 1..];
            if (mask is not null) targets = targets.masked_fill(mask[.., 1..].eq(0), GptLanguageModel.IgnoreIndex);
            var logits = Model.Head(hidden)[.., ..^1];                                              // (B, T-1, V)
            var losses = nn.functional.cross_entropy(logits.flatten(0, 1), targets.flatten(),
                ignore_index: GptLanguageModel.IgnoreIndex, reduction: nn.Reduction.None).view(targets.shape);
            var counts = targets.ne(GptLanguageModel.IgnoreIndex).sum(1);
            var means = (losses.sum(1) / counts.clamp_min(1)).exp().to(ScalarType.Float32).cpu().data<float>().ToArray();
            for (var j = 0; j < scored.Length; j++) if (tokens[j].Length >= 2) perplexities[j] = means[j];
        }
        for (var j = 0; j < scored.Length; j++) results[scored[j]] = (embeddings[j], perplexities[j]);
        return results;
    }

    internal override void SaveOnnx(Stream stream) =>
        OnnxExport.Save(Model, new OnnxInputs(Tokenizer.PadId, Config.MaxSequenceLength), stream,
            OnnxMetadata("causal-language-model", Tokenizer.PadId, Config.MaxSequenceLength));

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
        Create(env, ctx).MakeRowMapper(inputSchema, null);

    /// <inheritdoc/>
    private protected override IRowMapper MakeRowMapper(DataViewSchema schema, IDataView? batchInput) =>
        Mapper(schema, new EmbeddingScoring<float>(schema, _tokenColumn, _embeddingColumn, Config.Hidden,
            new DataViewSchema.DetachedColumn(_perplexityColumn, NumberDataViewType.Single), Score), batchInput);
}
