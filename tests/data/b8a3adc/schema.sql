CREATE TABLE agents (
	id VARCHAR NOT NULL, 
	name VARCHAR NOT NULL, 
	hardware JSON NOT NULL, 
	labels JSON NOT NULL, 
	versions JSON NOT NULL, 
	gpu_name VARCHAR NOT NULL, 
	vram_gb FLOAT NOT NULL, 
	cpu_arch VARCHAR NOT NULL, 
	registered_at FLOAT NOT NULL, 
	last_seen_at FLOAT NOT NULL, 
	draining BOOLEAN NOT NULL, 
	PRIMARY KEY (id)
);
CREATE TABLE aggregates (
	id INTEGER NOT NULL, 
	job_id VARCHAR NOT NULL, 
	benchmark VARCHAR NOT NULL, 
	variant VARCHAR NOT NULL, 
	run INTEGER NOT NULL, 
	kind VARCHAR NOT NULL, 
	metrics JSON NOT NULL, 
	PRIMARY KEY (id), 
	UNIQUE (job_id, benchmark, variant, run), 
	FOREIGN KEY(job_id) REFERENCES jobs (id)
);
CREATE TABLE energy (
	id INTEGER NOT NULL, 
	job_id VARCHAR NOT NULL, 
	benchmark VARCHAR NOT NULL, 
	figures JSON NOT NULL, 
	PRIMARY KEY (id), 
	UNIQUE (job_id, benchmark), 
	FOREIGN KEY(job_id) REFERENCES jobs (id)
);
CREATE TABLE job_logs (
	id INTEGER NOT NULL, 
	job_id VARCHAR NOT NULL, 
	attempt INTEGER NOT NULL, 
	seq INTEGER NOT NULL, 
	line VARCHAR NOT NULL, 
	PRIMARY KEY (id), 
	UNIQUE (job_id, attempt, seq), 
	FOREIGN KEY(job_id) REFERENCES jobs (id)
);
CREATE TABLE jobs (
	id VARCHAR NOT NULL, 
	run_id VARCHAR NOT NULL, 
	target VARCHAR NOT NULL, 
	model VARCHAR NOT NULL, 
	engine_runtime VARCHAR NOT NULL, 
	spec JSON NOT NULL, 
	selector JSON NOT NULL, 
	state VARCHAR NOT NULL, 
	ordinal INTEGER NOT NULL, 
	attempt INTEGER NOT NULL, 
	agent_id VARCHAR, 
	lease_expires_at FLOAT, 
	acked_seq INTEGER NOT NULL, 
	logs_acked_seq INTEGER NOT NULL, 
	requests_expected INTEGER NOT NULL, 
	clock_origin_unix FLOAT, 
	progress JSON NOT NULL, 
	provenance JSON NOT NULL, 
	message VARCHAR NOT NULL, 
	created_at FLOAT NOT NULL, 
	started_at FLOAT, 
	finished_at FLOAT, 
	PRIMARY KEY (id), 
	FOREIGN KEY(run_id) REFERENCES runs (id)
);
CREATE TABLE runs (
	id VARCHAR NOT NULL, 
	suite_id VARCHAR NOT NULL, 
	suite_name VARCHAR NOT NULL, 
	created_at FLOAT NOT NULL, 
	notes JSON NOT NULL, 
	PRIMARY KEY (id), 
	FOREIGN KEY(suite_id) REFERENCES suites (id)
);
CREATE TABLE samples (
	id INTEGER NOT NULL, 
	job_id VARCHAR NOT NULL, 
	attempt INTEGER NOT NULL, 
	seq INTEGER NOT NULL, 
	benchmark VARCHAR NOT NULL, 
	variant VARCHAR NOT NULL, 
	run INTEGER NOT NULL, 
	"index" INTEGER NOT NULL, 
	scheduled_s FLOAT, 
	queued_s FLOAT, 
	sent_s FLOAT NOT NULL, 
	first_response_s FLOAT, 
	first_token_s FLOAT, 
	end_s FLOAT, 
	chunk_times_s JSON NOT NULL, 
	prompt_tokens INTEGER, 
	completion_tokens INTEGER, 
	max_tokens INTEGER, 
	error VARCHAR, 
	baseline_latency_s FLOAT, 
	PRIMARY KEY (id), 
	UNIQUE (job_id, attempt, seq), 
	FOREIGN KEY(job_id) REFERENCES jobs (id)
);
CREATE TABLE suites (
	id VARCHAR NOT NULL, 
	name VARCHAR NOT NULL, 
	filename VARCHAR NOT NULL, 
	source_yaml VARCHAR NOT NULL, 
	resolved JSON NOT NULL, 
	submitted_at FLOAT NOT NULL, 
	PRIMARY KEY (id)
);
CREATE TABLE telemetry (
	id INTEGER NOT NULL, 
	job_id VARCHAR NOT NULL, 
	attempt INTEGER NOT NULL, 
	seq INTEGER NOT NULL, 
	t_s FLOAT NOT NULL, 
	gpu INTEGER NOT NULL, 
	power_w FLOAT, 
	energy_mj FLOAT, 
	gpu_util_pct FLOAT, 
	mem_util_pct FLOAT, 
	mem_used_mib FLOAT, 
	sm_mhz FLOAT, 
	mem_mhz FLOAT, 
	temp_c FLOAT, 
	throttle_mask INTEGER, 
	throttle_reasons JSON NOT NULL, 
	PRIMARY KEY (id), 
	UNIQUE (job_id, attempt, seq), 
	FOREIGN KEY(job_id) REFERENCES jobs (id)
);
CREATE TABLE tool_results (
	id INTEGER NOT NULL, 
	job_id VARCHAR NOT NULL, 
	attempt INTEGER NOT NULL, 
	benchmark VARCHAR NOT NULL, 
	tool VARCHAR NOT NULL, 
	command VARCHAR NOT NULL, 
	output VARCHAR NOT NULL, 
	metrics JSON NOT NULL, 
	PRIMARY KEY (id), 
	UNIQUE (job_id, attempt, benchmark), 
	FOREIGN KEY(job_id) REFERENCES jobs (id)
);
CREATE UNIQUE INDEX ix_agents_name ON agents (name);
CREATE INDEX ix_aggregates_job_id ON aggregates (job_id);
CREATE INDEX ix_energy_job_id ON energy (job_id);
CREATE INDEX ix_job_logs_job_id ON job_logs (job_id);
CREATE INDEX ix_jobs_agent_id ON jobs (agent_id);
CREATE INDEX ix_jobs_run_id ON jobs (run_id);
CREATE INDEX ix_jobs_state ON jobs (state);
CREATE INDEX ix_runs_suite_id ON runs (suite_id);
CREATE INDEX ix_samples_job_id ON samples (job_id);
CREATE INDEX ix_suites_name ON suites (name);
CREATE INDEX ix_telemetry_job_id ON telemetry (job_id);
CREATE INDEX ix_tool_results_job_id ON tool_results (job_id);
