import fc from 'fast-check';

// fast-check's default size ('small') generates arrays of about 10 elements whatever their maxLength says; the
// sequences the property tests write (`maxLength: 60`, `120`) are meant to be generated, so arrays, strings and
// records grow to 'medium' (about a hundred elements) unless a test says otherwise.
fc.configureGlobal({ baseSize: 'medium' });
