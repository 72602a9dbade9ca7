using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Runtime;
using Pipelines;
using Pipelines.Models;
using Pipelines.Models.Training;
using TorchSharp;

[assembly: LoadableClass(typeof(PromptClassificationTransformer), null, typeof(SignatureLoadModel),
    "Prompt-based text classifier", PromptClassificationTransformer.LoaderSignature)]
[assembly: LoadableClass(typeof(IRowMapper), typeof(PromptClassificationTransformer), null, typeof(SignatureLoadRowMapper),
    "Prompt-based text classifier", PromptClassificationTransformer.LoaderSignature)]

namespace Pipelines;

/// <summary>
/// A prompt-based (cloze) text classifier: each row's tokens are set into the template, and the
/// masked-LM head's scores of the class words at the mask give the class probabilities. The same
/// output columns as <see cref="TextClassificationTransformer"/> (binary: Score, Probability,
/// PredictedLabel; multiclass: Score, PredictedLabel), so ML.NET's evaluators work unchanged. Saves
/// into ML.NET model zips with its template, verbalizer and tokenizer.
/// </summary>
public sealed class PromptClassificationTransformer : ModelTransformerBase<BertForClozeClassification>
{
    internal const string LoaderSignature = "PipelinesPromptCls";
    private readonly bool _binary;
    private readonly string _tokenColumn;
    private readonly string[] _classNames;
    private readonly PromptTemplate _template;
    private readonly TextTokenizer _tokenizer;
    private readonly int _maxLength;

    internal PromptClassificationTransformer(IHost host, bool binary, string tokenColumn, string[] classNames, string template, TextTokenizer tokenizer,
        int maxLength, BertForClozeClassification model, TrainingResult? training)
        : base(host, model, nameof(PromptClassificationTransformer), training)
    {
        (_binary, _tokenColumn, _classNames, _tokenizer, _maxLength) = (binary, tokenColumn, classNames, tokenizer, maxLength);
        _template = new PromptTemplate(template, tokenizer);
    }

    /// <summary>Class names in class-index order.</summary>
    public IReadOnlyList<string> ClassNames => _classNames;
    /// <summary>The cloze template.</summary>
    public string Template => _template.Template;
    /// <summary>Each class's verbalizer words, as the vocabulary spells them (words the vocabulary splits were left out).</summary>
    public IReadOnlyList<string[]> ClassWords => Model.ClassWords.Select(ids => ids.Select(id => _tokenizer.Decode([id]).Trim()).ToArray()).ToList();
    /// <summary>The token ids the model reads for <paramref name="tokens"/> (a row of the token column): the text set into the template.</summary>
    public int[] Prompt(int[] tokens) => _template.Apply(tokens, _maxLength);

    internal override void SaveOnnx(Stream stream) =>
        throw new NotSupportedException("A prompt-based classifier does not export to ONNX yet: its graph would also have to find the mask position. " +
                                        "Fine-tune a TransformerClassifier to deploy with ONNX Runtime.");

    private static VersionInfo GetVersionInfo() => ModelStreams.Version("PLPRMCLS", LoaderSignature, typeof(PromptClassificationTransformer));

    /// <inheritdoc/>
    protected override void SaveModel(ModelSaveContext ctx)
    {
        ctx.SetVersionInfo(GetVersionInfo());
        ctx.Writer.Write(_binary);
        ctx.SaveNonEmptyString(_tokenColumn);
        ctx.Writer.Write(_classNames.Length);
        foreach (var name in _classNames) ctx.SaveString(name);
        ctx.SaveNonEmptyString(_template.Template);
        ctx.Writer.Write(_maxLength);
        foreach (var words in Model.ClassWords)
        {
            ctx.Writer.Write(words.Length);
            foreach (var id in words) ctx.Writer.Write(id);
        }
        ModelStreams.SaveConfig(ctx, Model.Bert.Config);
        ModelStreams.SaveTokenizer(ctx, _tokenizer);
        ModelStreams.SaveWeights(ctx, Model);
    }

    private static PromptClassificationTransformer Create(IHostEnvironment env, ModelLoadContext ctx)
    {
        ctx.CheckAtModel(GetVersionInfo());
        var host = env.Register(nameof(PromptClassificationTransformer));
        var binary = ctx.Reader.ReadBoolean();
        var tokens = ctx.LoadNonEmptyString();
        var count = ctx.Reader.ReadInt32();
        if (count is < 2 or > 1_000_000) throw new InvalidDataException($"Prompt classifier zip entry declares {count} classes.");
        var names = Enumerable.Range(0, count).Select(_ => ctx.LoadString()).ToArray();
        var template = ctx.LoadNonEmptyString();
        var maxLength = ctx.Reader.ReadInt32();
        var words = new int[count][];
        for (var c = 0; c < count; c++)
        {
            var n = ctx.Reader.ReadInt32();
            if (n is < 1 or > 100_000) throw new InvalidDataException($"Prompt classifier zip entry declares {n} words for class {c}.");
            words[c] = Enumerable.Range(0, n).Select(_ => ctx.Reader.ReadInt32()).ToArray();
        }
        var config = ModelStreams.LoadConfig(ctx);
        var tokenizer = ModelStreams.LoadTokenizer(ctx);
        var model = new BertForClozeClassification(config, tokenizer.MaskId ?? throw new InvalidDataException("The prompt classifier's tokenizer has no mask token."), words);
        ModelStreams.LoadWeights(host, ctx, model, "Prompt classifier (loaded)");
        return new PromptClassificationTransformer(host, binary, tokens, names, template, tokenizer, maxLength, model, null);
    }

    private static IRowMapper Create(IHostEnvironment env, ModelLoadContext ctx, DataViewSchema inputSchema) =>
        Create(env, ctx).MakeRowMapper(inputSchema, null);

    /// <inheritdoc/>
    private protected override IRowMapper MakeRowMapper(DataViewSchema schema, IDataView? batchInput) =>
        Mapper(schema, new Scoring(this, schema), batchInput);

    private sealed class Scoring(PromptClassificationTransformer parent, DataViewSchema schema)
        : SequenceScoring<BertForClozeClassification, float[]>(parent, schema, parent._tokenColumn, null, parent._tokenizer.PadId, parent._maxLength)
    {
        public override DataViewSchema.DetachedColumn[] OutputColumns => ClassifierOutputs.Columns(parent._binary, parent._classNames);

        // Every row is scored, an empty text too: the template alone still holds the mask.
        protected override int[] Prepare(int[] tokens) => parent.Prompt(tokens);

        public override float[][] Score(IReadOnlyList<SequenceInput> batch) =>
            Outputs(batch, logits => torch.nn.functional.softmax(logits, -1), Enumerable.Repeat(1f / parent._classNames.Length, parent._classNames.Length).ToArray());

        public override Delegate[] Getters(Func<float[]> current, Func<int, bool> activeOutput) => ClassifierOutputs.Getters(parent._binary, current);
    }
}
