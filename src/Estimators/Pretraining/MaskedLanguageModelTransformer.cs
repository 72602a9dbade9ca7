using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Runtime;
using Pipelines;
using Pipelines.Models;
using Pipelines.Models.Onnx;
using Pipelines.Models.Training;
using TorchSharp;
using static TorchSharp.torch;

[assembly: LoadableClass(typeof(MaskedLanguageModelTransformer), null, typeof(SignatureLoadModel),
    "Masked language model", MaskedLanguageModelTransformer.LoaderSignature)]
[assembly: LoadableClass(typeof(IRowMapper), typeof(MaskedLanguageModelTransformer), null, typeof(SignatureLoadRowMapper),
    "Masked language model", MaskedLanguageModelTransformer.LoaderSignature)]

namespace Pipelines;

/// <summary>One fill-mask candidate.</summary>
/// <param name="Token">The predicted token's text.</param>
/// <param name="Id">The predicted token's id.</param>
/// <param name="Probability">The model's probability for it at the masked position.</param>
public sealed record MaskPrediction(string Token, int Id, float Probability);

/// <summary>
/// A pretrained BERT style encoder with its tokenizer: the starting point of fine-tuning. As a
/// transform it adds a sentence embedding (mean of the last hidden states over real tokens, usable
/// as Features by any ML.NET trainer) and the row's text with its [MASK] tokens filled in.
/// Saves into ML.NET model zips.
/// </summary>
public sealed class MaskedLanguageModelTransformer : ModelTransformerBase<BertForPreTraining>
{
    internal const string LoaderSignature = "PipelinesMaskedLM";
    private readonly string _tokenColumn;
    private readonly string _embeddingColumn;
    private readonly string _filledColumn;

    /// <summary>The tokenizer that produced the training tokens.</summary>
    public TextTokenizer Tokenizer { get; }
    /// <summary>The architecture.</summary>
    public TransformerConfig Config => Model.Config;

    internal MaskedLanguageModelTransformer(IHost host, string tokenColumn, string embeddingColumn, string filledColumn,
        BertForPreTraining model, TextTokenizer tokenizer, TrainingResult? training)
        : base(host, model, nameof(MaskedLanguageModelTransformer), training)
    {
        (_tokenColumn, _embeddingColumn, _filledColumn) = (tokenColumn, embeddingColumn, filledColumn);
        Tokenizer = tokenizer;
    }

    /// <summary>
    /// The masked language model in a model zip (alone or in a chain), for example to continue its
    /// pretraining on new text (<see cref="MaskedLanguageModelOptions.Base"/>). Loaded on the CPU.
    /// </summary>
    /// <exception cref="FileNotFoundException">There is no file at <paramref name="path"/>.</exception>
    /// <exception cref="InvalidDataException">The zip holds no masked language model.</exception>
    public static MaskedLanguageModelTransformer FromZip(string path) => ModelZips.Load<MaskedLanguageModelTransformer>(path, "masked language model");

    /// <summary>
    /// A Hugging Face bert or roberta directory (config.json, model.safetensors and its tokenizer) as a
    /// masked language model, to continue its pretraining (<see cref="MaskedLanguageModelOptions.Base"/>) or to embed text.
    /// </summary>
    public static MaskedLanguageModelTransformer FromHuggingFace(string directory) => HuggingFaceEncoder.Load(directory);

    /// <summary>
    /// Writes this model and its tokenizer as a Hugging Face directory (BertForMaskedLM, BertForPreTraining with a
    /// sentence-pair head, or RobertaForMaskedLM when positions are offset by the padding id) that transformers
    /// loads with <c>AutoModelForMaskedLM.from_pretrained</c> and <c>AutoTokenizer.from_pretrained</c>, for example
    /// to continue pretraining on many GPUs; <see cref="FromHuggingFace"/> and <see cref="EncoderSource.FromHuggingFace"/> read it back.
    /// </summary>
    /// <exception cref="ArgumentException">The architecture has no Hugging Face equivalent (pre-LayerNorm, no biases, bottleneck adapters).</exception>
    /// <exception cref="NotSupportedException">The tokenizer has no Hugging Face files (WordPiece and byte-level BPE have).</exception>
    public void SaveAsHuggingFace(string directory) => HuggingFaceTaskFiles.Save(Model, Config, null, Tokenizer.PadId, directory, Tokenizer);

    internal static SchemaShape OutputSchema(SchemaShape input, string embedding, string filled)
    {
        var columns = input.ToDictionary(c => c.Name);
        columns[embedding] = new SchemaShape.Column(embedding, SchemaShape.Column.VectorKind.Vector, NumberDataViewType.Single, false);
        columns[filled] = new SchemaShape.Column(filled, SchemaShape.Column.VectorKind.Scalar, TextDataViewType.Instance, false);
        return new SchemaShape(columns.Values);
    }

    /// <summary>
    /// The <paramref name="topK"/> most likely tokens for each "[MASK]" in <paramref name="text"/>,
    /// in the order the masks appear.
    /// </summary>
    public IReadOnlyList<IReadOnlyList<MaskPrediction>> FillMask(string text, int topK = 5, string maskToken = "[MASK]")
    {
        var ids = new List<int> { Tokenizer.ClsId };
        var parts = text.Split(maskToken);
        for (var i = 0; i < parts.Length; i++)
        {
            if (i > 0) ids.Add(Tokenizer.MaskId!.Value);
            ids.AddRange(Tokenizer.Encode(parts[i], maxLength: int.MaxValue, addSpecialTokens: false).Ids);
        }
        ids.Add(Tokenizer.SepId);
        OptionChecks.Require(topK >= 1 && topK <= Config.VocabSize, nameof(topK), topK, $"must be in [1, {Config.VocabSize}], the vocabulary's size");
        // A mask past the model's positions would be cut off and silently get no answer.
        if (Tokenizer.MaskId is int mask && ids.LastIndexOf(mask) is var last && last >= Config.MaxSequenceLength)
            throw new ArgumentException($"The text is {ids.Count} tokens long and its last {maskToken} is token {last + 1}, past the model's " +
                                        $"{Config.MaxSequenceLength} positions, where the model cannot see it: shorten the text around the masks.", nameof(text));
        using var scope = NewDisposeScope();
        var probabilities = nn.functional.softmax(Logits(ids), -1);                                  // (T, V)
        var result = new List<IReadOnlyList<MaskPrediction>>();
        for (var t = 0; t < Math.Min(ids.Count, Config.MaxSequenceLength); t++)
        {
            if (ids[t] != Tokenizer.MaskId) continue;
            var (values, indices) = probabilities[t].topk(topK);
            var candidates = new List<MaskPrediction>();
            for (var k = 0; k < topK; k++)
            {
                var id = (int)indices[k].item<long>();
                candidates.Add(new MaskPrediction(Tokenizer.Decode([id], skipSpecial: false), id, values[k].item<float>()));
            }
            result.Add(candidates);
        }
        return result;
    }

    // Masked-LM logits (T, V) of one sequence, cut to the model's positions.
    private Tensor Logits(IReadOnlyList<int> ids)
    {
        using var _ = no_grad();
        var device = Model.parameters().First().device;
        var length = Math.Min(ids.Count, Config.MaxSequenceLength);
        var input = tensor(ids.Take(length).Select(i => (long)i).ToArray()).unsqueeze(0).to(device);
        return Model.Forward(input).TokenLogits[0].to(ScalarType.Float32).cpu();
    }

    /// <summary>Embedding and filled-in text of each token sequence (cut to the model's positions), from one batch.</summary>
    internal (float[] Embedding, ReadOnlyMemory<char> Filled)[] Score(IReadOnlyList<int[]> rows)
    {
        var results = new (float[], ReadOnlyMemory<char>)[rows.Count];
        var scored = Enumerable.Range(0, rows.Count).Where(i => rows[i].Length > 0).ToArray();
        foreach (var i in Enumerable.Range(0, rows.Count).Except(scored)) results[i] = (new float[Config.Hidden], ReadOnlyMemory<char>.Empty);
        if (scored.Length == 0) return results;
        var tokens = scored.Select(i => TokenBatch.Cut(rows[i], Config.MaxSequenceLength)).ToArray();
        float[][] embeddings;
        long[]? best = null;
        var width = tokens.Max(r => r.Length);                                                        // the padded batch's T
        using (NewDisposeScope())
        using (no_grad())
        {
            var (ids, mask) = TokenBatch.Pad(tokens, Tokenizer.PadId, Device);
            var hidden = Model.Bert.Forward(ids, mask);                                               // (B, T, C)
            embeddings = TokenBatch.Rows(SequencePooling.MaskedMean(hidden, mask));
            if (tokens.Any(t => Array.IndexOf(t, Tokenizer.MaskId ?? -1) >= 0))
                best = Model.Forward(ids, mask).TokenLogits.argmax(-1).cpu().data<long>().ToArray();   // (B, T)
        }
        for (var j = 0; j < scored.Length; j++)
        {
            var filled = tokens[j].ToArray();
            for (var t = 0; best is not null && t < filled.Length; t++)
                if (filled[t] == Tokenizer.MaskId) filled[t] = (int)best[j * width + t];
            results[scored[j]] = (embeddings[j], Tokenizer.Decode(filled).AsMemory());
        }
        return results;
    }

    internal override void SaveOnnx(Stream stream) =>
        OnnxExport.Save(Model, new OnnxInputs(Tokenizer.PadId, Config.MaxSequenceLength), stream,
            OnnxMetadata("masked-language-model", Tokenizer.PadId, Config.MaxSequenceLength));

    private static VersionInfo GetVersionInfo() => ModelStreams.Version("PLMASKLM", LoaderSignature, typeof(MaskedLanguageModelTransformer));

    /// <inheritdoc/>
    protected override void SaveModel(ModelSaveContext ctx)
    {
        ctx.SetVersionInfo(GetVersionInfo());
        ctx.SaveNonEmptyString(_tokenColumn);
        ctx.SaveNonEmptyString(_embeddingColumn);
        ctx.SaveNonEmptyString(_filledColumn);
        ctx.Writer.Write(HasSentencePairHead);
        ModelStreams.SaveConfig(ctx, Config);
        ModelStreams.SaveTokenizer(ctx, Tokenizer);
        ModelStreams.SaveWeights(ctx, Model);
    }

    private bool HasSentencePairHead => Model.named_parameters().Any(p => p.name.StartsWith("cls.seq_relationship"));

    private static MaskedLanguageModelTransformer Create(IHostEnvironment env, ModelLoadContext ctx)
    {
        ctx.CheckAtModel(GetVersionInfo());
        var host = env.Register(nameof(MaskedLanguageModelTransformer));
        var (token, embedding, filled) = (ctx.LoadNonEmptyString(), ctx.LoadNonEmptyString(), ctx.LoadNonEmptyString());
        var sentencePair = ctx.Reader.ReadBoolean();
        var config = ModelStreams.LoadConfig(ctx);
        var tokenizer = ModelStreams.LoadTokenizer(ctx);
        var model = new BertForPreTraining(config, sentencePair);
        ModelStreams.LoadWeights(host, ctx, model, "Masked language model (loaded)");
        return new MaskedLanguageModelTransformer(host, token, embedding, filled, model, tokenizer, null);
    }

    private static IRowMapper Create(IHostEnvironment env, ModelLoadContext ctx, DataViewSchema inputSchema) =>
        Create(env, ctx).MakeRowMapper(inputSchema, null);

    /// <inheritdoc/>
    private protected override IRowMapper MakeRowMapper(DataViewSchema schema, IDataView? batchInput) =>
        Mapper(schema, new EmbeddingScoring<ReadOnlyMemory<char>>(schema, _tokenColumn, _embeddingColumn, Config.Hidden,
            new DataViewSchema.DetachedColumn(_filledColumn, TextDataViewType.Instance), Score), batchInput);
}
