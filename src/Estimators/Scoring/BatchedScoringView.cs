using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Runtime;

namespace Pipelines;

/// <summary>
/// What a model transformer's Transform returns: the input plus the model's output columns, as
/// ML.NET's row mapper transform would give, but a cursor that reads a model output scores its
/// rows in batches. Cursors that read no model output pass the input through.
/// </summary>
internal sealed class BatchedScoringView : IDataView
{
    private readonly IHost _host;
    private readonly IDataView _input;
    private readonly Func<DataViewSchema, IDataView?, IRowMapper> _mapper;
    private readonly RowToRowMapperTransform _rowByRow;

    public BatchedScoringView(IHost host, IDataView input, Func<DataViewSchema, IDataView?, IRowMapper> mapper)
    {
        (_host, _input, _mapper) = (host, input, mapper);
        _rowByRow = new RowToRowMapperTransform(host, input, mapper(input.Schema, null), null);
    }

    public DataViewSchema Schema => _rowByRow.OutputSchema;

    public bool CanShuffle => false;

    public long? GetRowCount() => _input.GetRowCount();

    // Shuffling is a request a view may decline (CanShuffle is false): rows come in input order.
    public DataViewRowCursor GetRowCursor(IEnumerable<DataViewSchema.Column> columnsNeeded, Random? rand = null)
    {
        var needed = columnsNeeded.ToArray();
        // The row mapper transform appends its outputs after the input's columns.
        if (needed.All(c => c.Index < _input.Schema.Count)) return _rowByRow.GetRowCursor(needed);
        // One sequential cursor: ML.NET's own cursor would split rows among parallel cursors, each
        // seeing only some of them, but the look-ahead scores every row in order.
        var batched = new RowToRowMapperTransform(_host, _input, _mapper(_input.Schema, _input), null);
        var outputs = needed.Select(c => batched.OutputSchema[c.Index]).ToArray();
        var input = _input.GetRowCursor(((IRowToRowMapper)batched).GetDependencies(outputs));
        return new Cursor(input, batched.GetRow(input, outputs));
    }

    public DataViewRowCursor[] GetRowCursorSet(IEnumerable<DataViewSchema.Column> columnsNeeded, int n, Random? rand = null) =>
        [GetRowCursor(columnsNeeded, rand)];

    // The input cursor's rows, seen through the mapped row (which owns and disposes the input cursor).
    private sealed class Cursor(DataViewRowCursor input, DataViewRow mapped) : DataViewRowCursor
    {
        public override DataViewSchema Schema => mapped.Schema;
        public override long Position => input.Position;
        public override long Batch => input.Batch;
        public override bool MoveNext() => input.MoveNext();
        public override ValueGetter<TValue> GetGetter<TValue>(DataViewSchema.Column column) => mapped.GetGetter<TValue>(column);
        public override bool IsColumnActive(DataViewSchema.Column column) => mapped.IsColumnActive(column);
        public override ValueGetter<DataViewRowId> GetIdGetter() => input.GetIdGetter();

        protected override void Dispose(bool disposing)
        {
            if (disposing) mapped.Dispose();
            base.Dispose(disposing);
        }
    }
}
