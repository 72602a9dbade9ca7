namespace Pipelines.Examples.Common;

/// <summary>One tagged sentence, as the token classifier reads it: words joined by spaces, one tag per word.</summary>
public sealed class TaggedSentence
{
    /// <summary>The words, separated by single spaces.</summary>
    public string Sentence { get; set; } = "";
    /// <summary>One NER tag per word (IOB1 in CoNLL-2003's files); empty for an untagged sentence.</summary>
    public string[] Label { get; set; } = [];
    /// <summary>Index of the document the sentence belongs to (-DOCSTART- lines separate them).</summary>
    public int Document { get; set; }
}

/// <summary>
/// Reads CoNLL-2003's column files: one token a line ("word POS chunk NER"), a blank line between
/// sentences, -DOCSTART- between documents. Not shipped with the project (the data derive from the
/// Reuters corpus, for research use); found in a shared/data folder beside the repository.
/// </summary>
public static class Conll2003
{
    /// <summary>The folder holding eng.train, eng.testa and eng.testb, or null.</summary>
    public static string? DefaultFolder =>
        DataFiles.Find(Path.Combine("data", "conll2003", "eng.train")) is { } train ? Path.GetDirectoryName(train) : null;

    /// <summary>The sentences of one file.</summary>
    /// <exception cref="InvalidDataException">A line has fewer than two columns (names the line).</exception>
    public static List<TaggedSentence> Read(string path)
    {
        var sentences = new List<TaggedSentence>();
        var words = new List<string>();
        var tags = new List<string>();
        var document = -1;
        var number = 0;
        foreach (var line in File.ReadLines(path))
        {
            number++;
            if (line.StartsWith("-DOCSTART-", StringComparison.Ordinal)) { Flush(); document++; continue; }
            if (string.IsNullOrWhiteSpace(line)) { Flush(); continue; }
            var columns = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (columns.Length < 2) throw new InvalidDataException($"{path}:{number}: expected 'word ... tag', got '{line}'.");
            words.Add(columns[0]);
            tags.Add(columns[^1]);
        }
        Flush();
        return sentences;

        void Flush()
        {
            if (words.Count == 0) return;
            sentences.Add(new TaggedSentence { Sentence = string.Join(' ', words), Label = [.. tags], Document = Math.Max(0, document) });
            words.Clear();
            tags.Clear();
        }
    }

    /// <summary>
    /// Consecutive sentences of each document joined into texts of up to <paramref name="maxWords"/>
    /// words: longer, BERT-like pretraining inputs made from the same text.
    /// </summary>
    public static List<string> DocumentChunks(IEnumerable<TaggedSentence> sentences, int maxWords)
    {
        var chunks = new List<string>();
        var current = new List<string>();
        var words = 0;
        var document = -1;
        foreach (var sentence in sentences)
        {
            var count = sentence.Label.Length;
            if (current.Count > 0 && (sentence.Document != document || words + count > maxWords))
            {
                chunks.Add(string.Join(' ', current));
                current.Clear();
                words = 0;
            }
            current.Add(sentence.Sentence);
            words += count;
            document = sentence.Document;
        }
        if (current.Count > 0) chunks.Add(string.Join(' ', current));
        return chunks;
    }
}
