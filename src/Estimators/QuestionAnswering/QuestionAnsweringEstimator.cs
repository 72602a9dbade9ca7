using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Runtime;
using Pipelines.Models;
using Pipelines.Models.Lora;
using Pipelines.Models.Training;
using TorchSharp;

namespace Pipelines;

/// <summary>
/// Fine-tunes a BERT style encoder for extractive question answering (SQuAD): from a context and a
/// question, the start and end of the answer's span in the context. Contexts longer than a window
/// are read in overlapping windows; the transformer it returns writes the best span's text over all
/// windows. Text columns in, no tokenizer step before it: the span must be cut from the original text.
/// </summary>
public sealed class QuestionAnsweringEstimator : IEstimator<QuestionAnsweringTransformer>
{
    private readonly IHost _host;
    private readonly QuestionAnsweringOptions _options;

    internal QuestionAnsweringEstimator(IHostEnvironment env, QuestionAnsweringOptions options)
    {
        _host = env.Register(nameof(QuestionAnsweringEstimator));
        _options = options;
    }

    /// <inheritdoc/>
    public SchemaShape GetOutputSchema(SchemaShape inputSchema)
    {
        TextColumns.Check(inputSchema, _options.ContextColumnName, _options.QuestionColumnName);
        var columns = inputSchema.ToDictionary(c => c.Name);
        foreach (var column in QuestionAnsweringTransformer.OutputShape(_options.PredictedAnswerColumnName)) columns[column.Name] = column;
        return new SchemaShape(columns.Values);
    }

    /// <inheritdoc/>
    public QuestionAnsweringTransformer Fit(IDataView input)
    {
        _options.Validate();
        var seed = _options.Seed ?? _host.Rand.Next();
        using var channel = _host.Start("Question answering fine-tuning");
        var pretrained = _options.Base.Resolve();
        if (pretrained is not null && _options.Tokenizer is not null && _options.Tokenizer.Fingerprint != pretrained.Tokenizer.Fingerprint)
            throw new ArgumentException("Tokenizer is not the pretrained model's tokenizer, whose ids the encoder learnt: leave Tokenizer null to use the pretrained model's.", nameof(_options.Tokenizer));
        var tokenizer = pretrained?.Tokenizer ?? _options.Tokenizer
            ?? throw new ArgumentException("Set Base (a pretrained encoder) or Tokenizer (to train from scratch).", nameof(_options.Tokenizer));
        var config = FineTuningRun.Config(_options, pretrained, tokenizer, _options.WindowLength);
        var maxLength = Math.Min(_options.WindowLength, config.MaxSequenceLength);
        if (maxLength < _options.WindowLength) channel.Info($"The model has {config.MaxSequenceLength} positions: windows are cut to {maxLength} tokens.");

        var rows = QuestionRow.Read(input, _options);
        var (labelled, problems) = Label(rows, tokenizer, maxLength);
        foreach (var problem in problems.GroupBy(p => p.Reason))
            channel.Warning($"Skipped {problem.Count()} rows whose answer {problem.Key} (row {string.Join(", ", problem.Take(5).Select(p => p.Row))}{(problem.Count() > 5 ? ", ..." : "")}).");
        if (labelled.Count == 0) throw new InvalidOperationException($"No row has an answer found in its context in column '{_options.AnswerColumnName}': nothing to fine-tune on.");
        var (trainRows, validationRows) = _options.ValidationSet is null
            ? FineTuningRun.Split(labelled, _options.ValidationFraction, seed, channel)
            : (labelled, Label(QuestionRow.Read(_options.ValidationSet, _options), tokenizer, maxLength).Labelled);
        var train = trainRows.SelectMany(r => r).ToList();
        var validation = validationRows.SelectMany(r => r).ToList();
        channel.Info($"{labelled.Count:N0} questions with answers ({train.Count:N0} training windows of {maxLength} tokens), validating on {validationRows.Count:N0}.");

        var device = DeviceSelection.Select(_host, _options.Device, "Question answering fine-tuning");
        Seeding.Set(seed);
        var model = new BertForQuestionAnswering(config);
        FineTuningRun.CopyEncoder(pretrained, model.Bert, channel);
        model.to(device);
        FineTuningRun.ApplyStrategy(model, _options, channel, head: "qa_outputs");
        var task = new QuestionAnsweringTask(model, train, validation, tokenizer.PadId, maxLength, _options.BatchSize, seed);
        var result = FineTuningRun.Train(task, task.BatchesPerEpoch, config.Layers, _options, seed, channel);
        Adapters.Merge(model);
        model.eval();
        return new QuestionAnsweringTransformer(_host, new QuestionAnsweringTransformer.Settings(_options.ContextColumnName, _options.QuestionColumnName,
            _options.PredictedAnswerColumnName, maxLength, _options.DocumentOverlap, _options.MaxAnswerLength, _options.AllowNoAnswer), model, tokenizer, result);
    }

    // Each labelled row's windows with the answer's token positions in them ([CLS], 0, where a window lacks it or there is none).
    private (List<List<SpanExample>> Labelled, List<(long Row, string Reason)> Problems) Label(List<QuestionRow> rows, TextTokenizer tokenizer, int maxLength)
    {
        var labelled = new List<List<SpanExample>>();
        var problems = new List<(long, string)>();
        foreach (var row in rows)
        {
            var answer = row.Answers.FirstOrDefault() ?? "";
            if (answer.Trim().Length == 0 && !_options.AllowNoAnswer) { problems.Add((row.Index, "is empty (AllowNoAnswer is false)")); continue; }
            var context = ContextTokens.Encode(tokenizer, row.Context);
            (int First, int Last)? span = null;
            if (answer.Trim().Length > 0)
            {
                var start = row.AnswerStart >= 0 && row.AnswerStart + answer.Length <= row.Context.Length
                    && string.CompareOrdinal(row.Context, row.AnswerStart, answer, 0, answer.Length) == 0
                    ? row.AnswerStart : row.Context.IndexOf(answer, StringComparison.Ordinal);
                if (start < 0) { problems.Add((row.Index, "does not occur in its context")); continue; }
                span = context.TokenSpan(start, start + answer.Length);
                if (span is null) { problems.Add((row.Index, "holds no token")); continue; }
            }
            var question = tokenizer.Encode(row.Question, maxLength: int.MaxValue, addSpecialTokens: false).Ids;
            labelled.Add(QuestionWindow.Make(question, context, tokenizer, maxLength, _options.DocumentOverlap).Select(w =>
                span is { } s && s.First >= w.ContextStart && s.Last < w.ContextStart + w.ContextLength
                    ? new SpanExample(w.Ids, w.Segments, w.Offset + s.First - w.ContextStart, w.Offset + s.Last - w.ContextStart)
                    : new SpanExample(w.Ids, w.Segments, 0, 0)).ToList());
        }
        return (labelled, problems);
    }
}

/// <summary>One question row: its context, question, gold answers, the first answer's start (-1: unknown) and its row index.</summary>
internal sealed record QuestionRow(long Index, string Context, string Question, string[] Answers, int AnswerStart)
{
    /// <summary>Reads the context, question, answer and (when present) answer-start columns the options name.</summary>
    public static List<QuestionRow> Read(IDataView data, QuestionAnsweringOptions options)
    {
        var context = TextColumns.Check(data.Schema, options.ContextColumnName);
        var question = TextColumns.Check(data.Schema, options.QuestionColumnName);
        var answer = data.Schema.GetColumnOrNull(options.AnswerColumnName)
            ?? throw new ArgumentOutOfRangeException(nameof(data), $"Could not find answer column '{options.AnswerColumnName}'");
        var getAnswers = AnswersGetter(answer);
        var start = options.AnswerStartColumnName is null ? null : data.Schema.GetColumnOrNull(options.AnswerStartColumnName);
        if (start is { } sc && sc.Type != NumberDataViewType.Int32 && sc.Type != NumberDataViewType.Single)
            throw new ArgumentOutOfRangeException(nameof(data), $"Schema mismatch for column '{sc.Name}': expected Int32 or Single, got {sc.Type}");
        var rows = new List<QuestionRow>();
        using var cursor = data.GetRowCursor(start is { } s ? [context, question, answer, s] : [context, question, answer]);
        var getContext = cursor.GetGetter<ReadOnlyMemory<char>>(context);
        var getQuestion = cursor.GetGetter<ReadOnlyMemory<char>>(question);
        var readAnswers = getAnswers(cursor);
        Func<int> readStart = () => -1;
        if (start is { Type: var type } column)
            readStart = type == NumberDataViewType.Int32
                ? Int32Reader(cursor.GetGetter<int>(column))
                : SingleReader(cursor.GetGetter<float>(column));
        ReadOnlyMemory<char> c = default, q = default;
        while (cursor.MoveNext())
        {
            getContext(ref c);
            getQuestion(ref q);
            rows.Add(new QuestionRow(cursor.Position, c.ToString(), q.ToString(), readAnswers(), readStart()));
        }
        return rows;
    }

    private static Func<int> Int32Reader(ValueGetter<int> get) => () => { int v = default; get(ref v); return v; };
    private static Func<int> SingleReader(ValueGetter<float> get) => () => { float v = default; get(ref v); return float.IsNaN(v) ? -1 : (int)v; };

    // String, or a vector of String (SQuAD's several gold answers).
    internal static Func<DataViewRowCursor, Func<string[]>> AnswersGetter(DataViewSchema.Column answer)
    {
        if (answer.Type == TextDataViewType.Instance)
            return cursor =>
            {
                var get = cursor.GetGetter<ReadOnlyMemory<char>>(answer);
                return () => { ReadOnlyMemory<char> v = default; get(ref v); return [v.ToString()]; };
            };
        if (answer.Type is VectorDataViewType { ItemType: TextDataViewType })
            return cursor =>
            {
                var get = cursor.GetGetter<VBuffer<ReadOnlyMemory<char>>>(answer);
                return () => { VBuffer<ReadOnlyMemory<char>> v = default; get(ref v); return v.DenseValues().Select(a => a.ToString()).ToArray(); };
            };
        throw new ArgumentOutOfRangeException(nameof(answer), $"Schema mismatch for answer column '{answer.Name}': expected String or vector of String, got {answer.Type}");
    }
}
