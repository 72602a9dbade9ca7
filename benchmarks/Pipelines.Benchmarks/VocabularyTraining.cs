using System.Diagnostics;
using Pipelines.Examples.Common;

namespace Pipelines.Benchmarks;

/// <summary>
/// Seconds to train a WordPiece vocabulary on the SpamAssassin training mails (30,000 pieces by
/// default, BERT-base's size), and its quality on the test mails: tokens per whitespace-separated word and the share of
/// [UNK] tokens. The first pass (normalizing and splitting the text into words, what the tokenizer
/// itself does) is timed apart from the whole, so the merges' share shows.
/// Reference: Hugging Face tokenizers' WordPiece trainer, 30,000 pieces on the same mails.
/// </summary>
public static class VocabularyTraining
{
    public static int Run(string[] args)
    {
        string? Arg(string name) => args.FirstOrDefault(a => a.StartsWith($"--{name}="))?[(name.Length + 3)..];
        var path = Arg("data") ?? SpamAssassin.DefaultPath ?? throw new FileNotFoundException("data/spamassassin/emails.jsonl.gz not found");
        var size = int.Parse(Arg("size") ?? "30000");
        var rounds = int.Parse(Arg("rounds") ?? "3");
        var (train, test) = SpamAssassin.Load(path);
        var texts = train.Select(m => m.Text).ToList();
        Console.WriteLine($"corpus: {texts.Count:N0} training mails, {texts.Sum(t => (long)System.Text.Encoding.UTF8.GetByteCount(t)) / 1e6:F1} MB of UTF-8; " +
                          $"test: {test.Count:N0} mails; target {size:N0} pieces");
        var options = new WordPieceTrainerOptions { VocabularySize = size };
        IReadOnlyList<string> vocabulary = [];
        var times = new List<double>();
        var splitting = new List<double>();
        for (var round = 0; round < rounds; round++)
        {
            var split = Stopwatch.StartNew();
            var words = SplitIntoWords(texts);
            splitting.Add(split.Elapsed.TotalSeconds);
            var clock = Stopwatch.StartNew();
            vocabulary = WordPieceTrainer.Train(texts, options);
            times.Add(clock.Elapsed.TotalSeconds);
            Console.WriteLine($"round {round + 1}: trained {vocabulary.Count:N0} pieces in {times[^1]:F2} s " +
                              $"(splitting into {words.Count:N0} distinct words alone: {splitting[^1]:F2} s)");
        }
        var tokenizer = TextTokenizer.FromWordPieceVocab(vocabulary, lowerCase: true, stripAccents: true);
        long tokens = 0, unknown = 0, wordCount = 0;
        var unk = tokenizer.UnknownId;
        foreach (var mail in test)
        {
            var encoded = tokenizer.Encode(mail.Text, maxLength: int.MaxValue, addSpecialTokens: false);
            tokens += encoded.Ids.Length;
            unknown += encoded.Ids.Count(id => id == unk);
            wordCount += encoded.WordIds.Where(w => w >= 0).Distinct().Count();
        }
        Console.WriteLine($"median of {rounds}: {Median(times):F2} s to train (splitting {Median(splitting):F2} s, merging {Median(times) - Median(splitting):F2} s)");
        Console.WriteLine($"test mails: {tokens / (double)wordCount:F3} tokens per whitespace-separated word, unknown rate {unknown / (double)tokens:P3} ({unknown:N0} of {tokens:N0} tokens)");
        return 0;
    }

    // What the trainer's first pass does: the BERT normalizer and pre-tokenizer over every text, words counted.
    private static Dictionary<string, int> SplitIntoWords(List<string> texts)
    {
        var library = TextTokenizer.FromWordPieceVocab(["[PAD]", "[UNK]", "[CLS]", "[SEP]"]).LibraryTokenizer!;
        var counts = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var text in texts)
        {
            var normalized = library.Normalizer?.Normalize(text) ?? text;
            foreach (var (offset, length) in library.PreTokenizer!.PreTokenize(normalized))
            {
                var word = normalized.Substring(offset, length);
                counts[word] = counts.TryGetValue(word, out var n) ? n + 1 : 1;
            }
        }
        return counts;
    }

    private static double Median(List<double> values)
    {
        var sorted = values.Order().ToArray();
        return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[sorted.Length / 2 - 1] + sorted[sorted.Length / 2]) / 2;
    }
}
