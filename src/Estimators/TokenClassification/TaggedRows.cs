using Microsoft.ML;
using Microsoft.ML.Data;
using Pipelines.Models;
using Pipelines.Models.Training;

namespace Pipelines;

/// <summary>One sentence as the tagger sees it: token ids, the word of each token, the word count, and the word tags (null when unlabelled).</summary>
internal sealed record TaggedSentence(int[] Ids, int[] WordIds, int Words, string[]? Tags);

/// <summary>Reads the tagger's columns: token ids, word ids, the sentence text (for its word count) and the word tags.</summary>
internal static class TaggedRows
{
    /// <summary>
    /// Every row of <paramref name="data"/>. Tags are a vector of Text, or of Key with key values;
    /// an empty vector marks an unlabelled row. A labelled row whose tag count differs from its
    /// word count (whitespace-separated words of the sentence) is an error naming the row.
    /// </summary>
    public static List<TaggedSentence> Read(IDataView data, TokenClassifierOptions options, bool withTags)
    {
        var schema = data.Schema;
        var tokens = TokenSequences.CheckColumn(schema, options.TokenColumnName);
        var wordIds = TokenSequences.CheckColumn(schema, options.WordIdsColumn);
        var sentence = CheckText(schema, options.SentenceColumnName);
        var tags = withTags ? CheckTags(schema, options.LabelColumnName) : (DataViewSchema.Column?)null;
        var active = new List<DataViewSchema.Column> { tokens, wordIds, sentence };
        if (tags is { } t) active.Add(t);

        var rows = new List<TaggedSentence>();
        using var cursor = data.GetRowCursor(active);
        var getTokens = cursor.GetGetter<VBuffer<int>>(tokens);
        var getWords = cursor.GetGetter<VBuffer<int>>(wordIds);
        var getSentence = cursor.GetGetter<ReadOnlyMemory<char>>(sentence);
        var getTags = tags is { } tagColumn ? TagGetter(cursor, tagColumn) : null;
        VBuffer<int> ids = default, words = default;
        ReadOnlyMemory<char> text = default;
        var row = 0;
        while (cursor.MoveNext())
        {
            getTokens(ref ids);
            getWords(ref words);
            getSentence(ref text);
            if (ids.Length != words.Length)
                throw new InvalidDataException($"Row {row}: '{options.TokenColumnName}' has {ids.Length} tokens but '{options.WordIdsColumn}' has {words.Length} word ids.");
            var wordCount = CountWords(text.Span);
            var rowTags = getTags?.Invoke();
            if (rowTags is { Length: 0 }) rowTags = null;
            if (rowTags is not null && rowTags.Length != wordCount)
                throw new InvalidDataException(
                    $"Row {row}: {rowTags.Length} tags in '{options.LabelColumnName}' but {wordCount} words in '{options.SentenceColumnName}'; give one tag per whitespace-separated word.");
            rows.Add(new TaggedSentence(ids.DenseValues().ToArray(), words.DenseValues().ToArray(), wordCount, rowTags));
            row++;
        }
        return rows;
    }

    /// <summary>Whitespace-separated words, counted as the subword tokenizer numbers them.</summary>
    public static int CountWords(ReadOnlySpan<char> text)
    {
        var count = 0;
        var inWord = false;
        foreach (var c in text)
        {
            var space = char.IsWhiteSpace(c);
            if (!space && !inWord) count++;
            inWord = !space;
        }
        return count;
    }

    /// <summary>
    /// Token labels for the loss: each word's tag index on its first token, <see cref="Heads.IgnoreIndex"/>
    /// elsewhere; tags missing from <paramref name="tagIndex"/> are ignored too (and counted).
    /// </summary>
    public static TaggedSequence ToTraining(TaggedSentence sentence, string[] tags, IReadOnlyDictionary<string, int> tagIndex, ref int unknownTags)
    {
        var labels = new int[sentence.Ids.Length];
        var previous = -1;
        for (var t = 0; t < labels.Length; t++)
        {
            var word = sentence.WordIds[t];
            labels[t] = (int)Heads.IgnoreIndex;
            if (word >= 0 && word != previous && word < tags.Length)
            {
                if (tagIndex.TryGetValue(tags[word], out var index)) labels[t] = index;
                else unknownTags++;
            }
            previous = word;
        }
        return new TaggedSequence(sentence.Ids, labels);
    }

    /// <summary>The words that have no token (cut by a maximum length), as a count.</summary>
    public static int WordsWithoutToken(TaggedSentence sentence, int maxLength)
    {
        var highest = -1;
        for (var t = 0; t < Math.Min(maxLength, sentence.WordIds.Length); t++) highest = Math.Max(highest, sentence.WordIds[t]);
        return sentence.Words - (highest + 1);
    }

    private static DataViewSchema.Column CheckText(DataViewSchema schema, string name)
    {
        var column = schema.GetColumnOrNull(name) ?? throw new ArgumentOutOfRangeException(nameof(schema), $"Could not find input column '{name}'");
        if (column.Type is not TextDataViewType)
            throw new ArgumentOutOfRangeException(nameof(schema), $"Schema mismatch for input column '{name}': expected String, got {column.Type}");
        return column;
    }

    /// <summary>Throws unless <paramref name="name"/> is a vector of Text or of Key with key values.</summary>
    public static DataViewSchema.Column CheckTags(DataViewSchema schema, string name)
    {
        var column = schema.GetColumnOrNull(name) ?? throw new ArgumentOutOfRangeException(nameof(schema), $"Could not find tag column '{name}'");
        var ok = column.Type is VectorDataViewType { ItemType: TextDataViewType }
            || (column.Type is VectorDataViewType { ItemType: KeyDataViewType } && column.HasKeyValues());
        if (!ok)
            throw new ArgumentOutOfRangeException(nameof(schema),
                $"Schema mismatch for tag column '{name}': expected a vector of String (one tag per word) or of Key with key values, got {column.Type}");
        return column;
    }

    /// <summary>A getter of the current row's tags as strings, for a column <see cref="CheckTags"/> accepted.</summary>
    public static Func<string[]> TagGetter(DataViewRow row, DataViewSchema.Column column)
    {
        if (column.Type is VectorDataViewType { ItemType: TextDataViewType })
        {
            var get = row.GetGetter<VBuffer<ReadOnlyMemory<char>>>(column);
            VBuffer<ReadOnlyMemory<char>> buffer = default;
            return () => { get(ref buffer); return buffer.DenseValues().Select(v => v.ToString()).ToArray(); };
        }
        VBuffer<ReadOnlyMemory<char>> names = default;
        column.GetKeyValues(ref names);
        var values = names.DenseValues().Select(v => v.ToString()).ToArray();
        var getKeys = row.GetGetter<VBuffer<uint>>(column);
        VBuffer<uint> keys = default;
        return () =>
        {
            getKeys(ref keys);
            return keys.DenseValues().Select(k => k == 0 ? EntityTags.Outside : values[k - 1]).ToArray();
        };
    }
}
