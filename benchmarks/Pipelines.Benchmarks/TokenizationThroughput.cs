using System.Diagnostics;
using System.Text.Json;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace Pipelines.Benchmarks;

/// <summary>
/// Tokens/s of the TokenizeSubwords transform, read through an ML.NET cursor (all four output
/// columns, and only ids + attention mask, what the trainers read: word ids are then not computed)
/// against calling the Microsoft.ML.Tokenizers tokenizer directly on the same texts, in one run, for a WordPiece vocabulary trained on the corpus and for tiktoken cl100k_base. The target is
/// a ratio of at least 0.9. Corpus: SpamAssassin bodies from shared/data, else Tiny Shakespeare
/// paragraphs from data/. Each side counts the tokens it produced: for WordPiece they differ, because
/// the library alone joins words across line breaks (see SubwordEncoder.EncodeByWords).
/// <c>--breakdown</c> adds the library's EncodeToTokens and TextTokenizer.Encode outside ML.NET.
/// </summary>
public static class TokenizationThroughput
{
    private sealed class Row
    {
        public string Text { get; set; } = "";
    }

    public static int Run(string[] args)
    {
        var texts = Corpus();
        Console.WriteLine($"corpus                 {texts.Count:N0} texts, {texts.Sum(t => (long)t.Length):N0} characters");
        var clock = Stopwatch.StartNew();
        var wordPiece = WordPieceTrainer.TrainTokenizer(texts.Take(1000), new WordPieceTrainerOptions { VocabularySize = 8000 });
        Console.WriteLine($"WordPiece training     {wordPiece.VocabSize} pieces from 1,000 texts in {clock.Elapsed.TotalSeconds:F1} s");
        Measure("WordPiece (BertTokenizer)", wordPiece, texts, t => ((Microsoft.ML.Tokenizers.BertTokenizer)wordPiece.LibraryTokenizer!).EncodeToIds(t).Count);
        var tiktoken = TextTokenizer.FromTiktoken("cl100k_base");
        Measure("tiktoken cl100k_base", tiktoken, texts, t => tiktoken.LibraryTokenizer!.EncodeToIds(t).Count);
        if (args.Contains("--breakdown")) // where the time goes: library calls vs TextTokenizer.Encode without ML.NET
        {
            foreach (var (n, f) in new (string, Func<string, int>)[] {
                ("tt EncodeToTokens", t => tiktoken.LibraryTokenizer!.EncodeToTokens(t, out _).Count),
                ("tt TextTokenizer.Encode", t => tiktoken.Encode(t, maxLength: int.MaxValue).Ids.Length),
                ("wp TextTokenizer.Encode", t => wordPiece.Encode(t, maxLength: int.MaxValue).Ids.Length),
                ("wp direct", t => wordPiece.LibraryTokenizer!.EncodeToIds(t).Count) })
            {
                var c = Stopwatch.StartNew(); long k = 0;
                foreach (var t in texts) k += f(t);
                Console.WriteLine($"{n,-26} {k / c.Elapsed.TotalSeconds,12:N0} tokens/s");
            }
        }
        return 0;
    }

    private static void Measure(string name, TextTokenizer tokenizer, List<string> texts, Func<string, int> direct)
    {
        var ml = new MLContext(seed: 1);
        var data = ml.Data.LoadFromEnumerable(texts.Select(t => new Row { Text = t }));
        // No truncation, so both sides produce every token of every text.
        var transformer = ml.Transforms.Text.TokenizeSubwords("Tokens", "Text", tokenizer, maxLength: int.MaxValue).Fit(data);
        double bestDirect = 0, bestAll = 0, bestIds = 0;
        string[] all = ["Tokens", "Tokens.AttentionMask", "Tokens.WordIds", "Tokens.SegmentIds"], ids = ["Tokens", "Tokens.AttentionMask"];
        for (var round = 0; round < 3; round++) // interleaved rounds, best of each: the machines are noisy
        {
            var clock = Stopwatch.StartNew();
            long tokens = 0;
            foreach (var text in texts) tokens += direct(text);
            bestDirect = Math.Max(bestDirect, tokens / clock.Elapsed.TotalSeconds);
            bestAll = Math.Max(bestAll, Read(transformer.Transform(data), all));
            bestIds = Math.Max(bestIds, Read(transformer.Transform(data), ids));
        }
        Console.WriteLine($"{name,-26} direct {bestDirect,12:N0} tokens/s   transform, 4 columns {bestAll,12:N0} tokens/s (ratio {bestAll / bestDirect:F2}), " +
                          $"ids + mask {bestIds,12:N0} tokens/s (ratio {bestIds / bestDirect:F2})");
    }

    // Tokens/s of reading the given columns of every row through a cursor.
    private static double Read(IDataView output, string[] names)
    {
        var clock = Stopwatch.StartNew();
        long tokens = 0;
        var columns = names.Select(c => output.Schema[c]).ToArray();
        using (var cursor = output.GetRowCursor(columns))
        {
            var getters = columns.Select(c => cursor.GetGetter<VBuffer<int>>(c)).ToArray();
            VBuffer<int> value = default, other = default;
            while (cursor.MoveNext())
            {
                getters[0](ref value);
                foreach (var getter in getters[1..]) getter(ref other);
                tokens += value.Length;
            }
        }
        return tokens / clock.Elapsed.TotalSeconds;
    }

    private static List<string> Corpus()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            foreach (var candidate in new[] { Path.Combine(dir.FullName, "shared", "data"), Path.Combine(dir.FullName, "..", "shared", "data") })
            {
                var file = Path.Combine(candidate, "spamassassin", "emails.jsonl");
                if (File.Exists(file))
                    return File.ReadLines(file).Select(line => JsonDocument.Parse(line).RootElement.GetProperty("body").GetString() ?? "").ToList();
            }
            var shakespeare = Path.Combine(dir.FullName, "data", "tinyshakespeare", "input.txt");
            if (File.Exists(shakespeare)) return File.ReadAllText(shakespeare).Split("\n\n").ToList();
        }
        throw new FileNotFoundException("Neither shared/data/spamassassin/emails.jsonl nor data/tinyshakespeare/input.txt was found.");
    }
}
