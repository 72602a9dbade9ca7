using System.Text;
using Microsoft.ML.Tokenizers;

namespace Pipelines;

/// <summary>
/// Trains a WordPiece vocabulary (a vocab.txt that Microsoft.ML.Tokenizers' BertTokenizer loads
/// unchanged) from raw text. Written here because no available library trains vocabularies.
/// </summary>
/// <remarks>
/// The method is that of Hugging Face tokenizers' WordPiece trainer: text is normalized and split into
/// words exactly as the resulting tokenizer will do it (Microsoft.ML.Tokenizers' BERT normalizer and
/// pre-tokenizer), each word is spelled as its first character followed by "##"-prefixed characters,
/// and the most frequent adjacent pair of pieces is merged, again and again, until the vocabulary
/// reaches its target size. Vocabulary order: special tokens, the alphabet (ordinal order, word-start
/// forms then "##" forms), then merged pieces in the order they were made. Deterministic: ties go to
/// the pair made of older pieces.
/// </remarks>
public static class WordPieceTrainer
{
    private const string Continuation = "##";
    private const int MaxWordLength = 100; // longer words are [UNK] in BERT's WordPiece: not worth learning

    /// <summary>Trains a vocabulary from <paramref name="texts"/> and returns its lines (id = index).</summary>
    public static IReadOnlyList<string> Train(IEnumerable<string?> texts, WordPieceTrainerOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(texts);
        options ??= new WordPieceTrainerOptions();
        options.Validate();
        var words = CountWords(texts, options);
        // A vocabulary of special tokens only would tokenize every text to [UNK]s.
        if (words.Count == 0)
            throw new InvalidOperationException("The texts hold no word to learn a vocabulary from (all are empty, whitespace or words longer than " +
                                                $"{MaxWordLength} characters): check the text column.");
        return new Merger(words, options).Run();
    }

    /// <summary>Trains a vocabulary and returns the tokenizer that uses it with the same normalization.</summary>
    public static TextTokenizer TrainTokenizer(IEnumerable<string?> texts, WordPieceTrainerOptions? options = null)
    {
        options ??= new WordPieceTrainerOptions();
        return TextTokenizer.FromWordPieceVocab(Train(texts, options), options.LowerCase, options.StripAccents ?? options.LowerCase);
    }

    // Word counts after the tokenizer's own normalization and pre-tokenization.
    private static Dictionary<string, int> CountWords(IEnumerable<string?> texts, WordPieceTrainerOptions options)
    {
        var bootstrap = TextTokenizer.FromWordPieceVocab(["[PAD]", "[UNK]", "[CLS]", "[SEP]"], options.LowerCase, options.StripAccents ?? options.LowerCase);
        var library = bootstrap.LibraryTokenizer!;
        var counts = new Dictionary<string, int>(StringComparer.Ordinal);
        var lookup = counts.GetAlternateLookup<ReadOnlySpan<char>>();
        foreach (var text in texts)
        {
            if (string.IsNullOrEmpty(text)) continue;
            var normalized = library.Normalizer?.Normalize(UnicodeScrub.Scrubbed(text)) ?? text;
            foreach (var (offset, length) in library.PreTokenizer!.PreTokenize(normalized))
            {
                var word = normalized.AsSpan(offset, length);
                if (length > MaxWordLength || word.IsWhiteSpace()) continue;
                lookup[word] = lookup.TryGetValue(word, out var n) ? n + 1 : 1;
            }
        }
        return counts;
    }

    private sealed class Merger
    {
        private readonly WordPieceTrainerOptions _options;
        private readonly List<string> _pieces = [];                 // piece id -> text
        private readonly Dictionary<string, int> _ids = new(StringComparer.Ordinal);
        private readonly List<int>[] _words;                         // each word as piece ids
        private readonly int[] _counts;                              // occurrences of each word
        private readonly Dictionary<long, long> _pairCounts = [];
        private readonly Dictionary<long, HashSet<int>> _pairWords = [];
        private readonly PriorityQueue<long, (long Count, long Pair)> _queue =
            new(Comparer<(long Count, long Pair)>.Create((a, b) => a.Count != b.Count ? b.Count.CompareTo(a.Count) : a.Pair.CompareTo(b.Pair)));
        private readonly List<string> _vocabulary = [];

        public Merger(Dictionary<string, int> words, WordPieceTrainerOptions options)
        {
            _options = options;
            _vocabulary.AddRange(options.SpecialTokens);
            var alphabet = Alphabet(words, options.AlphabetLimit);
            foreach (var rune in alphabet) AddToVocabulary(rune);
            foreach (var rune in alphabet) AddToVocabulary(Continuation + rune);

            var allowed = alphabet.ToHashSet(StringComparer.Ordinal);
            var kept = words.Where(w => w.Key.EnumerateRunes().All(r => allowed.Contains(r.ToString()))).ToArray();
            _words = new List<int>[kept.Length];
            _counts = new int[kept.Length];
            for (var w = 0; w < kept.Length; w++)
            {
                _counts[w] = kept[w].Value;
                _words[w] = kept[w].Key.EnumerateRunes().Select((r, i) => _ids[(i == 0 ? "" : Continuation) + r]).ToList();
                AddPairs(w);
            }
            foreach (var (pair, count) in _pairCounts) _queue.Enqueue(pair, (count, pair));
        }

        public IReadOnlyList<string> Run()
        {
            while (_vocabulary.Count < _options.VocabularySize && _queue.TryDequeue(out var pair, out var priority))
            {
                if (!_pairCounts.TryGetValue(pair, out var count) || count != priority.Count) continue; // stale entry
                if (count < _options.MinFrequency) break;
                var (left, right) = ((int)(pair >> 32), (int)(pair & 0xFFFFFFFF));
                var merged = AddToVocabulary(_pieces[left] + _pieces[right][Continuation.Length..]);
                foreach (var w in _pairWords[pair].ToArray()) Merge(w, left, right, merged);
            }
            return _vocabulary;
        }

        private int AddToVocabulary(string piece)
        {
            if (_ids.TryGetValue(piece, out var id)) return id;
            id = _pieces.Count;
            _pieces.Add(piece);
            _ids.Add(piece, id);
            _vocabulary.Add(piece);
            return id;
        }

        // Merges every (left, right) of word w into merged and updates the counts of the pairs that
        // changed, and only those: the word's other pairs keep their counts and stay off the queue.
        // A word may still be listed under a pair it no longer holds (sets are not pruned): it is skipped.
        private void Merge(int w, int left, int right, int merged)
        {
            var word = _words[w];
            if (!Holds(word, left, right)) return;
            _delta.Clear();
            Tally(word, -1);
            for (var i = 0; i + 1 < word.Count; i++)
            {
                if (word[i] != left || word[i + 1] != right) continue;
                word[i] = merged;
                word.RemoveAt(i + 1);
            }
            Tally(word, +1);
            foreach (var (pair, change) in _delta)
            {
                if (change == 0) continue;
                var count = (_pairCounts.TryGetValue(pair, out var c) ? c : 0) + change * _counts[w];
                _pairCounts[pair] = count;
                if (change > 0)
                {
                    if (!_pairWords.TryGetValue(pair, out var set)) _pairWords[pair] = set = [];
                    set.Add(w);
                }
                if (count > 0) _queue.Enqueue(pair, (count, pair));
            }
        }

        private readonly Dictionary<long, int> _delta = [];

        // How many times each adjacent pair of the word occurs, times sign, into _delta.
        private void Tally(List<int> word, int sign)
        {
            for (var i = 0; i + 1 < word.Count; i++)
            {
                var pair = Pair(word[i], word[i + 1]);
                _delta[pair] = (_delta.TryGetValue(pair, out var n) ? n : 0) + sign;
            }
        }

        private static bool Holds(List<int> word, int left, int right)
        {
            for (var i = 0; i + 1 < word.Count; i++)
                if (word[i] == left && word[i + 1] == right) return true;
            return false;
        }

        private static long Pair(int left, int right) => ((long)left << 32) | (uint)right;

        // The word's pairs counted in (sign +1) when the word is first read.
        private void AddPairs(int w)
        {
            var word = _words[w];
            for (var i = 0; i + 1 < word.Count; i++)
            {
                var pair = Pair(word[i], word[i + 1]);
                _pairCounts[pair] = (_pairCounts.TryGetValue(pair, out var c) ? c : 0) + _counts[w];
                if (!_pairWords.TryGetValue(pair, out var set)) _pairWords[pair] = set = [];
                set.Add(w);
            }
        }

        // The most frequent characters (ties: ordinal), in ordinal order.
        private static List<string> Alphabet(Dictionary<string, int> words, int limit)
        {
            var frequency = new Dictionary<string, long>(StringComparer.Ordinal);
            foreach (var (word, count) in words)
            {
                foreach (var rune in word.EnumerateRunes())
                {
                    var key = rune.ToString();
                    frequency[key] = (frequency.TryGetValue(key, out var n) ? n : 0) + count;
                }
            }
            return frequency.OrderByDescending(p => p.Value).ThenBy(p => p.Key, StringComparer.Ordinal).Take(limit)
                .Select(p => p.Key).Order(StringComparer.Ordinal).ToList();
        }
    }
}
