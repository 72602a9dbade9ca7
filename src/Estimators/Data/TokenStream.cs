using Microsoft.ML;
using Pipelines.Models.Training;

namespace Pipelines;

/// <summary>
/// A token column read lazily, for pretraining on corpora larger than memory. Validation rows are held
/// out when it is opened: a seeded hash of the row index picks each row with the validation fraction,
/// among the first rows, until <c>maxValidation</c> are found (one pass over that prefix only). The
/// training rows are every other row of two tokens or more, read again each time <see cref="Rows"/> is
/// enumerated; the held-out indices are the only state kept, so memory does not grow with the corpus.
/// </summary>
internal sealed class TokenStream
{
    private readonly IDataView _data;
    private readonly DataViewSchema.Column _tokens;
    private readonly DataViewSchema.Column? _wordIds;
    private readonly HashSet<long> _held;
    private readonly long _heldBefore;

    private TokenStream(IDataView data, DataViewSchema.Column tokens, DataViewSchema.Column? wordIds, HashSet<long> held, long heldBefore,
        List<int[]> validation, List<int[]>? validationWordIds)
    {
        (_data, _tokens, _wordIds, _held, _heldBefore) = (data, tokens, wordIds, held, heldBefore);
        (Validation, ValidationWordIds) = (validation, validationWordIds);
    }

    /// <summary>The held-out rows' token ids.</summary>
    public List<int[]> Validation { get; }
    /// <summary>The held-out rows' word ids, when a word-id column was given.</summary>
    public List<int[]>? ValidationWordIds { get; }

    /// <summary>Opens <paramref name="column"/> of <paramref name="data"/> and holds out its validation rows.</summary>
    public static TokenStream Open(IDataView data, string column, string? wordIdsColumn, double fraction, int maxValidation, int seed)
    {
        var tokens = TokenSequences.CheckColumn(data.Schema, column);
        var wordIds = wordIdsColumn is null ? (DataViewSchema.Column?)null : TokenSequences.CheckColumn(data.Schema, wordIdsColumn);
        var (held, validation, validationWords) = (new HashSet<long>(), new List<int[]>(), wordIds is null ? null : new List<int[]>());
        long index = 0;
        if (fraction > 0 && maxValidation > 0)
        {
            foreach (var (row, words) in TokenSequences.Enumerate(data, tokens, wordIds))
            {
                if (Held(seed, index, fraction) && row.Length >= 2)
                {
                    held.Add(index);
                    validation.Add(row);
                    validationWords?.Add(words!);
                    if (validation.Count == maxValidation) { index++; break; }
                }
                index++;
            }
        }
        return new TokenStream(data, tokens, wordIds, held, index, validation, validationWords);
    }

    /// <summary>The training rows, in the data's order: each enumeration reads the column again.</summary>
    public IEnumerable<StreamedSequence> Rows()
    {
        long index = -1;
        foreach (var (row, words) in TokenSequences.Enumerate(_data, _tokens, _wordIds))
        {
            index++;
            if (row.Length < 2 || index < _heldBefore && _held.Contains(index)) continue;
            yield return new StreamedSequence(row, words);
        }
    }

    // SplitMix64 of (seed, row) as a uniform [0, 1) draw: the same row is held out in every pass and every run.
    private static bool Held(int seed, long index, double fraction) => Seeding.Derived(seed, index).NextDouble() < fraction;
}
