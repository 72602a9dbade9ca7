using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Runtime;
using Pipelines;
using Pipelines.Models;
using Pipelines.Models.Generation;
using Pipelines.Models.Onnx;
using Pipelines.Models.Training;

[assembly: LoadableClass(typeof(TextGenerationTransformer), null, typeof(SignatureLoadModel),
    "Transformer text generator", TextGenerationTransformer.LoaderSignature)]
[assembly: LoadableClass(typeof(IRowMapper), typeof(TextGenerationTransformer), null, typeof(SignatureLoadRowMapper),
    "Transformer text generator", TextGenerationTransformer.LoaderSignature)]

namespace Pipelines;

/// <summary>
/// A causal language model fine-tuned to answer prompts: as a transform it writes each row's
/// generated response (String) beside its prompt. Generation is greedy unless the options say
/// otherwise, and stops at the separator that closed every response in training. Saves into ML.NET
/// model zips with its tokenizer.
/// </summary>
public sealed class TextGenerationTransformer : ModelTransformerBase<GptLanguageModel>
{
    internal const string LoaderSignature = "PipelinesTextGenerator";
    private readonly string _promptColumn;
    private readonly string _generatedColumn;
    private readonly int _blockSize;

    /// <summary>The tokenizer of prompts and responses.</summary>
    public TextTokenizer Tokenizer { get; }
    /// <summary>How responses are generated (the stop token is always the separator).</summary>
    public GenerationOptions Generation { get; }

    internal TextGenerationTransformer(IHost host, string promptColumn, string generatedColumn, GenerationOptions generation, int blockSize,
        GptLanguageModel model, TextTokenizer tokenizer, TrainingResult? training)
        : base(host, model, nameof(TextGenerationTransformer), training)
    {
        (_promptColumn, _generatedColumn, _blockSize, Tokenizer) = (promptColumn, generatedColumn, blockSize, tokenizer);
        Generation = generation with { StopTokenId = tokenizer.SepId };
    }

    /// <summary>The response to one prompt.</summary>
    public string Generate(string prompt) => Respond(TextGenerationEstimator.Encode(Tokenizer, prompt.AsMemory()));

    // The prompt keeps its beginning, as in training, and leaves room for the response in the context.
    private string Respond(int[] prompt)
    {
        var room = Math.Max(1, _blockSize - 1 - Generation.MaxNewTokens);
        int[] ids = [.. prompt.Take(room), Tokenizer.SepId];
        var generated = TextGeneration.Generate(Model, ids, Generation);
        return Tokenizer.Decode(generated.TakeWhile(id => id != Tokenizer.SepId));
    }

    internal override void SaveOnnx(Stream stream) =>
        OnnxExport.Save(Model, new OnnxInputs(Tokenizer.PadId, Model.Config.MaxSequenceLength), stream,
            OnnxMetadata("text-generator", Tokenizer.PadId, Model.Config.MaxSequenceLength, ("separator_id", Tokenizer.SepId.ToString())));

    private static VersionInfo GetVersionInfo() => ModelStreams.Version("PLTXTGEN", LoaderSignature, typeof(TextGenerationTransformer));

    /// <inheritdoc/>
    protected override void SaveModel(ModelSaveContext ctx)
    {
        ctx.SetVersionInfo(GetVersionInfo());
        ctx.SaveNonEmptyString(_promptColumn);
        ctx.SaveNonEmptyString(_generatedColumn);
        ctx.Writer.Write(_blockSize);
        ctx.Writer.Write(Generation.MaxNewTokens);
        ctx.Writer.Write(Generation.Temperature);
        ctx.Writer.Write(Generation.TopK);
        ctx.Writer.Write(Generation.TopP);
        ctx.Writer.Write(Generation.Seed);
        ModelStreams.SaveConfig(ctx, Model.Config);
        ModelStreams.SaveTokenizer(ctx, Tokenizer);
        ModelStreams.SaveWeights(ctx, Model);
    }

    private static TextGenerationTransformer Create(IHostEnvironment env, ModelLoadContext ctx)
    {
        ctx.CheckAtModel(GetVersionInfo());
        var host = env.Register(nameof(TextGenerationTransformer));
        var (prompt, generated, blockSize) = (ctx.LoadNonEmptyString(), ctx.LoadNonEmptyString(), ctx.Reader.ReadInt32());
        var generation = new GenerationOptions
        {
            MaxNewTokens = ctx.Reader.ReadInt32(), Temperature = ctx.Reader.ReadDouble(), TopK = ctx.Reader.ReadInt32(),
            TopP = ctx.Reader.ReadDouble(), Seed = ctx.Reader.ReadInt32(),
        };
        var config = ModelStreams.LoadConfig(ctx);
        var tokenizer = ModelStreams.LoadTokenizer(ctx);
        var model = new GptLanguageModel(config);
        ModelStreams.LoadWeights(host, ctx, model, "Text generator (loaded)");
        return new TextGenerationTransformer(host, prompt, generated, generation.Validate(), blockSize, model, tokenizer, null);
    }

    private static IRowMapper Create(IHostEnvironment env, ModelLoadContext ctx, DataViewSchema inputSchema) =>
        Create(env, ctx).MakeRowMapper(inputSchema, null);

    /// <inheritdoc/>
    private protected override IRowMapper MakeRowMapper(DataViewSchema schema, IDataView? batchInput) =>
        Mapper(schema, new Scoring(this, schema), batchInput);

    private sealed class Scoring(TextGenerationTransformer parent, DataViewSchema schema) : RowScoring<int[], string>
    {
        private readonly int _prompt = TextColumns.Check(schema, parent._promptColumn).Index;

        public override IReadOnlyList<int> InputColumns => [_prompt];

        public override DataViewSchema.DetachedColumn[] OutputColumns => [new(parent._generatedColumn, TextDataViewType.Instance)];

        public override Func<int[]> Reader(DataViewRow row)
        {
            var get = row.GetGetter<ReadOnlyMemory<char>>(row.Schema[_prompt]);
            ReadOnlyMemory<char> text = default;
            return () =>
            {
                get(ref text);
                return TextGenerationEstimator.Encode(parent.Tokenizer, text);
            };
        }

        public override int Length(int[] input) => input.Length;

        // Row by row: each response has its own length and stops at its own separator.
        public override string[] Score(IReadOnlyList<int[]> batch) => batch.Select(parent.Respond).ToArray();

        public override Delegate[] Getters(Func<string> current, Func<int, bool> activeOutput) =>
            [(ValueGetter<ReadOnlyMemory<char>>)((ref ReadOnlyMemory<char> value) => value = current().AsMemory())];
    }
}
