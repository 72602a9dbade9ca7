using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Runtime;
using Pipelines;
using Pipelines.Models;
using Pipelines.Models.Onnx;
using Pipelines.Models.Training;
using static TorchSharp.torch;

[assembly: LoadableClass(typeof(QuestionAnsweringTransformer), null, typeof(SignatureLoadModel),
    "Transformer question answering", QuestionAnsweringTransformer.LoaderSignature)]
[assembly: LoadableClass(typeof(IRowMapper), typeof(QuestionAnsweringTransformer), null, typeof(SignatureLoadRowMapper),
    "Transformer question answering", QuestionAnsweringTransformer.LoaderSignature)]

namespace Pipelines;

/// <summary>One predicted answer: its text (empty for no answer), where it starts in the context (-1 for none) and its probability.</summary>
public sealed record PredictedAnswer(string Text, int Start, float Score);

/// <summary>
/// A fine-tuned extractive question answerer. From the context and question columns it writes the
/// answer text (PredictedAnswer by default), its character start in the context (…Start, Int32, -1
/// for no answer) and its probability (…Score: the start probability times the end probability in
/// the window it came from). Spans run from a piece's first character to a piece's last, so an
/// answer is always a substring of the context. Saves into ML.NET model zips with its tokenizer.
/// </summary>
public sealed class QuestionAnsweringTransformer : ModelTransformerBase<BertForQuestionAnswering>
{
    internal const string LoaderSignature = "PipelinesQuestionAnswer";

    /// <summary>What scoring needs besides the model and tokenizer.</summary>
    internal sealed record Settings(string ContextColumn, string QuestionColumn, string AnswerColumn, int MaxLength, int Overlap,
        int MaxAnswerLength, bool AllowNoAnswer);

    private readonly Settings _settings;

    /// <summary>The tokenizer of contexts and questions.</summary>
    public TextTokenizer Tokenizer { get; }

    internal QuestionAnsweringTransformer(IHost host, Settings settings, BertForQuestionAnswering model, TextTokenizer tokenizer, TrainingResult? training)
        : base(host, model, nameof(QuestionAnsweringTransformer), training)
    {
        (_settings, Tokenizer) = (settings, tokenizer);
    }

    internal static IEnumerable<SchemaShape.Column> OutputShape(string answer)
    {
        yield return new SchemaShape.Column(answer, SchemaShape.Column.VectorKind.Scalar, TextDataViewType.Instance, false);
        yield return new SchemaShape.Column(answer + "Start", SchemaShape.Column.VectorKind.Scalar, NumberDataViewType.Int32, false);
        yield return new SchemaShape.Column(answer + "Score", SchemaShape.Column.VectorKind.Scalar, NumberDataViewType.Single, false);
    }

    /// <summary>The answer to one question about one context.</summary>
    public PredictedAnswer Answer(string context, string question) => Answer([(context, question)])[0];

    /// <summary>Answers to several questions, their windows scored in one forward pass.</summary>
    internal PredictedAnswer[] Answer(IReadOnlyList<(string Context, string Question)> rows)
    {
        var contexts = rows.Select(r => ContextTokens.Encode(Tokenizer, r.Context)).ToArray();
        var windows = rows.Select((r, i) => QuestionWindow.Make(Tokenizer.Encode(r.Question, maxLength: int.MaxValue, addSpecialTokens: false).Ids,
            contexts[i], Tokenizer, _settings.MaxLength, _settings.Overlap)).ToArray();
        var all = windows.SelectMany(w => w).ToList();
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var (ids, mask, segments) = Batching.PadPairs(all.Select(w => w.Ids).ToList(), all.Select(w => (int[]?)w.Segments).ToList(),
            Tokenizer.PadId, _settings.MaxLength, Device);
        var (start, end) = Model.Forward(ids, mask, segments);
        var startLogits = TokenBatch.Rows(start);
        var endLogits = TokenBatch.Rows(end);
        var results = new PredictedAnswer[rows.Count];
        var w = 0;
        for (var r = 0; r < rows.Count; r++)
        {
            var best = Span.None;
            var noAnswer = double.PositiveInfinity;
            var noAnswerScore = 0f;
            foreach (var window in windows[r])
            {
                var (s, e) = (startLogits[w], endLogits[w]);
                var span = Span.Best(s, e, window, _settings.MaxAnswerLength);
                if (span.Logit > best.Logit) best = span with { Window = window };
                // SQuAD 2.0: the weakest "no answer" over the windows, as BERT's script compares.
                if (s[0] + e[0] < noAnswer) (noAnswer, noAnswerScore) = (s[0] + e[0], Probability(s, 0) * Probability(e, 0));
                w++;
            }
            results[r] = best.Window is null || _settings.AllowNoAnswer && noAnswer > best.Logit
                ? new PredictedAnswer("", -1, noAnswerScore)
                : Cut(contexts[r], best);
        }
        return results;
    }

    private static PredictedAnswer Cut(ContextTokens context, Span span)
    {
        var first = span.Window!.ContextStart + span.Start - span.Window.Offset;
        var last = span.Window.ContextStart + span.End - span.Window.Offset;
        var (start, length) = context.CharSpan(first, last);
        return new PredictedAnswer(context.Text.Substring(start, length), start, span.Score);
    }

    private static float Probability(float[] logits, int index)
    {
        var max = logits.Max();
        return (float)(Math.Exp(logits[index] - max) / logits.Sum(l => Math.Exp(l - max)));
    }

    // The best span of one window: start and end positions in the window, its logit sum and probability.
    private sealed record Span(int Start, int End, double Logit, float Score, QuestionWindow? Window)
    {
        public static readonly Span None = new(0, 0, double.NegativeInfinity, 0, null);

        public static Span Best(float[] start, float[] end, QuestionWindow window, int maxAnswerLength)
        {
            var best = None;
            var last = window.Offset + window.ContextLength;
            for (var i = window.Offset; i < last; i++)
                for (var j = i; j < Math.Min(last, i + maxAnswerLength); j++)
                    if (start[i] + end[j] > best.Logit) best = new Span(i, j, start[i] + end[j], 0, null);
            return best.Logit == double.NegativeInfinity ? best : best with { Score = Probability(start, best.Start) * Probability(end, best.End) };
        }
    }

    internal override void SaveOnnx(Stream stream) =>
        OnnxExport.Save(Model, new OnnxInputs(Tokenizer.PadId, _settings.MaxLength, Segments: true), stream,
            OnnxMetadata("question-answering", Tokenizer.PadId, _settings.MaxLength, ("max_answer_length", _settings.MaxAnswerLength.ToString()),
                ("allow_no_answer", _settings.AllowNoAnswer ? "true" : "false")));

    private static VersionInfo GetVersionInfo() => ModelStreams.Version("PLTXTQA ", LoaderSignature, typeof(QuestionAnsweringTransformer));

    /// <inheritdoc/>
    protected override void SaveModel(ModelSaveContext ctx)
    {
        ctx.SetVersionInfo(GetVersionInfo());
        ctx.SaveNonEmptyString(_settings.ContextColumn);
        ctx.SaveNonEmptyString(_settings.QuestionColumn);
        ctx.SaveNonEmptyString(_settings.AnswerColumn);
        ctx.Writer.Write(_settings.MaxLength);
        ctx.Writer.Write(_settings.Overlap);
        ctx.Writer.Write(_settings.MaxAnswerLength);
        ctx.Writer.Write(_settings.AllowNoAnswer);
        ModelStreams.SaveConfig(ctx, Model.Bert.Config);
        ModelStreams.SaveTokenizer(ctx, Tokenizer);
        ModelStreams.SaveWeights(ctx, Model);
    }

    private static QuestionAnsweringTransformer Create(IHostEnvironment env, ModelLoadContext ctx)
    {
        ctx.CheckAtModel(GetVersionInfo());
        var host = env.Register(nameof(QuestionAnsweringTransformer));
        var settings = new Settings(ctx.LoadNonEmptyString(), ctx.LoadNonEmptyString(), ctx.LoadNonEmptyString(), ctx.Reader.ReadInt32(),
            ctx.Reader.ReadInt32(), ctx.Reader.ReadInt32(), ctx.Reader.ReadBoolean());
        var config = ModelStreams.LoadConfig(ctx);
        var tokenizer = ModelStreams.LoadTokenizer(ctx);
        var model = new BertForQuestionAnswering(config);
        ModelStreams.LoadWeights(host, ctx, model, "Question answering (loaded)");
        return new QuestionAnsweringTransformer(host, settings, model, tokenizer, null);
    }

    private static IRowMapper Create(IHostEnvironment env, ModelLoadContext ctx, DataViewSchema inputSchema) =>
        Create(env, ctx).MakeRowMapper(inputSchema, null);

    /// <inheritdoc/>
    private protected override IRowMapper MakeRowMapper(DataViewSchema schema, IDataView? batchInput) =>
        Mapper(schema, new Scoring(this, schema), batchInput);

    private sealed class Scoring(QuestionAnsweringTransformer parent, DataViewSchema schema) : RowScoring<(string Context, string Question), PredictedAnswer>
    {
        private readonly int _context = TextColumns.Check(schema, parent._settings.ContextColumn).Index;
        private readonly int _question = TextColumns.Check(schema, parent._settings.QuestionColumn).Index;

        public override IReadOnlyList<int> InputColumns => [_context, _question];

        public override DataViewSchema.DetachedColumn[] OutputColumns =>
        [
            new(parent._settings.AnswerColumn, TextDataViewType.Instance),
            new(parent._settings.AnswerColumn + "Start", NumberDataViewType.Int32),
            new(parent._settings.AnswerColumn + "Score", NumberDataViewType.Single),
        ];

        public override Func<(string Context, string Question)> Reader(DataViewRow row)
        {
            var context = row.GetGetter<ReadOnlyMemory<char>>(row.Schema[_context]);
            var question = row.GetGetter<ReadOnlyMemory<char>>(row.Schema[_question]);
            ReadOnlyMemory<char> c = default, q = default;
            return () =>
            {
                context(ref c);
                question(ref q);
                return (c.ToString(), q.ToString());
            };
        }

        public override int Length((string Context, string Question) input) => input.Context.Length + input.Question.Length;

        public override PredictedAnswer[] Score(IReadOnlyList<(string Context, string Question)> batch) => parent.Answer(batch);

        public override Delegate[] Getters(Func<PredictedAnswer> current, Func<int, bool> activeOutput) =>
        [
            (ValueGetter<ReadOnlyMemory<char>>)((ref ReadOnlyMemory<char> v) => v = current().Text.AsMemory()),
            (ValueGetter<int>)((ref int v) => v = current().Start),
            (ValueGetter<float>)((ref float v) => v = current().Score),
        ];
    }
}
